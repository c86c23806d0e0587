import { describe, expect, it } from 'vitest';
import { GraphBuilder, attr } from './builder.js';
import { decodeModel, readTensor } from './codec.js';
import { dense, l2Normalize, reduce, reduceSum } from './layers.js';
import { ORT_RUNTIMES, int64Feed, runModel } from './ort-runners.js';
import { OnnxAttributeType, OnnxDataType, onnxType } from './schema.js';

describe('onnx schema', () => {
  it('writes proto2 wire format with onnx.proto field numbers', () => {
    const tensor = onnxType('TensorProto');
    // dims = 1 (unpacked varints), data_type = 2, name = 8, raw_data = 9
    const bytes = tensor.encode(tensor.fromObject({ dims: [2, 3], data_type: 1, name: 'w', raw_data: new Uint8Array([7]) })).finish();
    expect([...bytes]).toEqual([0x08, 2, 0x08, 3, 0x10, 1, 0x42, 1, 0x77, 0x4a, 1, 7]);

    const model = onnxType('ModelProto');
    // ir_version = 1, opset_import = 8 { domain = 1, version = 2 }; proto2 writes a set field even
    // when it holds the default (domain ''), as onnx's own helper does.
    const m = model.encode(model.fromObject({ ir_version: 8, opset_import: [{ domain: '', version: 17 }] })).finish();
    expect([...m]).toEqual([0x08, 8, 0x42, 4, 0x0a, 0, 0x10, 17]);

    const dim = onnxType('TensorShapeProto');
    // dim = 1 { dim_value = 1 | dim_param = 2 }
    const d = dim.encode(dim.fromObject({ dim: [{ dim_param: 'b' }, { dim_value: 4 }] })).finish();
    expect([...d]).toEqual([0x0a, 3, 0x12, 1, 0x62, 0x0a, 2, 0x08, 4]);

    const attribute = onnxType('AttributeProto');
    // name = 1, ints = 8 (unpacked), type = 20
    const a = attribute.encode(attribute.fromObject({ name: 'p', ints: [1, 2], type: OnnxAttributeType.INTS })).finish();
    expect([...a]).toEqual([0x0a, 1, 0x70, 0x40, 1, 0x40, 2, 0xa0, 0x01, 7]);
  });
});

describe('GraphBuilder', () => {
  function sampleGraph(): GraphBuilder {
    const g = new GraphBuilder('sample');
    const idx = g.input('idx', 'int64', ['batch', 'length']);
    const table = g.initializer('table', Float32Array.from([1, 2, 3, 4, 5, 6, 0, 0]), [4, 2]);
    const rows = g.op('Gather', [table, idx], { axis: 0 });
    const summed = reduceSum(g, rows, [1], false);
    const scaled = g.op('Mul', [summed, g.float32(0.5)]);
    g.op('LeakyRelu', [scaled], { alpha: attr.float(0.25) });
    g.op('Concat', [scaled, scaled], { axis: -1 });
    g.output(scaled, 'out', 'float32', ['batch', 2]);
    g.output(table, 'table_out', 'float32', [4, 2]);
    return g;
  }

  it('round-trips through protobuf: what is encoded decodes back', () => {
    const bytes = sampleGraph().toModel({ producer: 'tastemaker', producerVersion: '9.9.9', metadata: { k: 'v' } });
    const model = decodeModel(bytes);
    expect(model.ir_version).toBe(8);
    expect(model.opset_import).toEqual([{ domain: '', version: 17 }]);
    expect(model.producer_name).toBe('tastemaker');
    expect(model.producer_version).toBe('9.9.9');
    expect(model.metadata_props).toEqual([{ key: 'k', value: 'v' }]);

    const graph = model.graph;
    expect(graph?.name).toBe('sample');
    expect(graph?.input).toMatchObject([
      {
        name: 'idx',
        type: { tensor_type: { elem_type: OnnxDataType.INT64, shape: { dim: [{ dim_param: 'batch' }, { dim_param: 'length' }] } } },
      },
    ]);
    expect(graph?.output?.map((o) => o.name)).toEqual(['out', 'table_out']);
    expect(graph?.output?.[0]?.type?.tensor_type?.shape?.dim).toEqual([{ dim_param: 'batch' }, { dim_value: 2 }]);

    const table = graph?.initializer?.find((t) => t.name === 'table');
    expect(table).toBeDefined();
    const decoded = readTensor(table ?? {});
    expect(decoded.dtype).toBe('float32');
    expect(decoded.dims).toEqual([4, 2]);
    expect([...decoded.data]).toEqual([1, 2, 3, 4, 5, 6, 0, 0]);

    const axes = graph?.initializer?.find((t) => t.data_type === OnnxDataType.INT64);
    expect(axes && [...readTensor(axes).data]).toEqual([1n]);

    const ops = graph?.node?.map((n) => n.op_type);
    expect(ops).toEqual(['Gather', 'ReduceSum', 'Mul', 'LeakyRelu', 'Concat', 'Identity']);
    const gather = graph?.node?.[0];
    expect(gather?.attribute).toMatchObject([{ name: 'axis', type: OnnxAttributeType.INT, i: 0 }]);
    const leaky = graph?.node?.[3]?.attribute?.[0];
    expect(leaky?.type).toBe(OnnxAttributeType.FLOAT);
    expect(leaky?.f).toBeCloseTo(0.25);
    expect(graph?.node?.[4]?.attribute?.[0]?.i).toBe(-1);
    // The node result was renamed to its output name; the initializer went through Identity.
    expect(graph?.node?.[2]?.output).toEqual(['out']);
    expect(graph?.node?.[5]).toMatchObject({ input: ['table'], output: ['table_out'] });
  });

  it('infers attribute types and honours explicit ones', () => {
    const g = new GraphBuilder('attrs', { domains: { 'test.domain': 1 } });
    const x = g.input('x', 'float32', [2]);
    const attributes = {
      i: 3,
      f: 1.5,
      s: 'hello',
      ints: [1, 2, 3n],
      floats: [0.5, 1],
      strings: ['a', 'b'],
      forcedFloat: attr.float(2),
      emptyInts: attr.ints([]),
      t: attr.tensor(Float32Array.from([1, 2]), [2]),
      skipped: undefined,
    };
    g.output(g.op('Custom', [x], attributes, { domain: 'test.domain' }), 'y', 'float32', [2]);
    const model = decodeModel(g.toModel());
    expect(model.opset_import).toEqual([
      { domain: '', version: 17 },
      { domain: 'test.domain', version: 1 },
    ]);
    expect(model.graph?.node?.[0]?.domain).toBe('test.domain');
    const attrs = model.graph?.node?.[0]?.attribute ?? [];
    const byName = Object.fromEntries(attrs.map((a) => [a.name ?? '', a]));
    expect(byName.i).toMatchObject({ type: OnnxAttributeType.INT, i: 3 });
    expect(byName.f).toMatchObject({ type: OnnxAttributeType.FLOAT, f: 1.5 });
    expect(new TextDecoder().decode(byName.s?.s)).toBe('hello');
    expect(byName.ints).toMatchObject({ type: OnnxAttributeType.INTS, ints: [1, 2, 3] });
    expect(byName.floats).toMatchObject({ type: OnnxAttributeType.FLOATS, floats: [0.5, 1] });
    expect(byName.strings?.strings?.map((s) => new TextDecoder().decode(s))).toEqual(['a', 'b']);
    expect(byName.forcedFloat).toMatchObject({ type: OnnxAttributeType.FLOAT, f: 2 });
    expect(byName.emptyInts).toMatchObject({ type: OnnxAttributeType.INTS });
    expect(byName.t?.type).toBe(OnnxAttributeType.TENSOR);
    expect([...readTensor(byName.t?.t ?? {}).data]).toEqual([1, 2]);
    expect(byName.skipped).toBeUndefined();
  });

  it('refuses what would make an invalid model', () => {
    const g = new GraphBuilder('bad');
    const x = g.input('x', 'float32', ['batch']);
    expect(() => g.input('x', 'float32', [1])).toThrow(/Duplicate/);
    expect(() => g.initializer('w', new Float32Array(5), [2, 2])).toThrow(/5 elements/);
    expect(() => g.initializer('w', new Float32Array(4), [2, 2], 'int64')).toThrow(/cannot hold int64/);
    expect(() => g.op('Relu', [new GraphBuilder('other').input('z', 'float32', [1])])).toThrow(/belongs to graph/);
    expect(() => g.op('Foo', [x], {}, { domain: 'com.example' })).toThrow(/does not import/);
    expect(() => g.toModel()).toThrow(/no outputs/);
    const y = g.op('Relu', [x]);
    expect(() => g.output(y, 'x', 'float32', ['batch'])).toThrow(/already used/);
    g.output(y, 'y', 'float32', ['batch']);
    expect(() => g.toModel({ opset: 13 })).toThrow(/built for opset 17/);
    expect(() => g.op('Mul', [x, x], { bad: [] as number[] })).toThrow(/empty list/);
  });

  it('shares small constants and keeps names unique', () => {
    const g = new GraphBuilder('consts');
    expect(g.int64([1])).toBe(g.int64([1]));
    expect(g.int64([1])).not.toBe(g.int64(1));
    const x = g.input('x', 'float32', [2]);
    const a = g.op('Relu', [x]);
    const b = g.op('Relu', [x]);
    expect(a.name).not.toBe(b.name);
  });

  it.each(ORT_RUNTIMES)('builds graphs onnxruntime (%s) runs, layers and subgraphs included', async (runtime) => {
    const g = new GraphBuilder('mlp');
    const idx = g.input('idx', 'int64', ['batch']);
    const table = g.initializer('table', Float32Array.from([1, 2, 3, 4, -5, 6]), [3, 2]);
    const x = g.op('Gather', [table, idx], { axis: 0 });
    const h = dense(g, x, { inputDim: 2, outputDim: 2, weight: Float32Array.from([1, 0, 0, -1]), bias: Float32Array.from([0.5, 0]), activation: 'relu' }, 'd0');
    g.output(l2Normalize(g, h), 'normed', 'float32', ['batch', 2]);
    g.output(reduce(g, 'ReduceMax', x, [1], false), 'row_max', 'float32', ['batch']);
    // If with subgraphs reading an outer value: exercises GRAPH attributes and the shared name scope.
    const positive = g.op('Greater', [reduceSum(g, reduceSum(g, x, [1], false), [0], false), g.float32(0)]);
    const thenBranch = new GraphBuilder('then', { parent: g });
    thenBranch.output(thenBranch.op('Neg', [x]), 'then_out', 'float32', ['batch', 2]);
    const elseBranch = new GraphBuilder('else', { parent: g });
    elseBranch.output(x, 'else_out', 'float32', ['batch', 2]);
    g.output(g.op('If', [positive], { then_branch: thenBranch, else_branch: elseBranch }), 'branch', 'float32', ['batch', 2]);

    const out = await runModel(runtime, g.toModel(), { idx: int64Feed([0, 2, 1]) }, ['normed', 'row_max', 'branch']);
    // rows: [1,2] → relu([1.5,-2]) = [1.5,0] → [1,0]; [-5,6] → relu([-4.5,-6]) = 0 → stays 0; [3,4] → [3.5,0] → [1,0]
    expect([...(out.normed?.data ?? [])]).toEqual([1, 0, 0, 0, 1, 0]);
    expect([...(out.row_max?.data ?? [])]).toEqual([2, 6, 4]);
    expect([...(out.branch?.data ?? [])]).toEqual([-1, -2, 5, -6, -3, -4]);
  });
});
