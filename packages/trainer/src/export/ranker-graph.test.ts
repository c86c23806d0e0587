import { describe, expect, it } from 'vitest';
import { Rng } from '../engine/rng.js';
import type { GraphBuilder, Value } from '../onnx/builder.js';
import { decodeModel } from '../onnx/codec.js';
import { reduceSum } from '../onnx/layers.js';
import { exportRankerGraph, referenceRankerScores } from './ranker-graph.js';
import { rankerParity, rankerProbePairs } from './ranker-parity.js';
import type { RankerExport } from './types.js';

/** score(u, i) = P[u]·Q[i] + b[i], with P's extra last row (zeros) serving unknown users. */
function dotRanker(nUsers: number, nItems: number, dim: number, seed = 7): RankerExport {
  const rng = new Rng(seed);
  const p = Float32Array.from({ length: (nUsers + 1) * dim }, (_, k) => (k >= nUsers * dim ? 0 : rng.normal()));
  const q = Float32Array.from({ length: nItems * dim }, () => rng.normal());
  const bias = Float32Array.from({ length: nItems }, () => rng.normal() * 3);
  return {
    kind: 'ranker',
    nUsers,
    nItems,
    buildGraph(g: GraphBuilder, user: Value, item: Value): Value {
      const pu = g.op('Gather', [g.initializer('p', p, [nUsers + 1, dim]), user], { axis: 0 });
      const qi = g.op('Gather', [g.initializer('q', q, [nItems, dim]), item], { axis: 0 });
      const bi = g.op('Gather', [g.initializer('b', bias, [nItems]), item], { axis: 0 });
      return g.op('Add', [reduceSum(g, g.op('Mul', [pu, qi]), [1], false), bi]);
    },
    scorePairs(users: Int32Array, items: Int32Array): Float32Array {
      return Float32Array.from(users, (u, b) => {
        const i = items[b] ?? 0;
        let s = bias[i] ?? 0;
        for (let j = 0; j < dim; j++) s += (p[u * dim + j] ?? 0) * (q[i * dim + j] ?? 0);
        return s;
      });
    },
  };
}

describe('exportRankerGraph', () => {
  it('declares the ranker contract at opset 17 / IR 8', () => {
    const graph = exportRankerGraph(dotRanker(4, 6, 3));
    expect(graph.name).toBe('ranker');
    expect(graph.file).toBe('ranker.onnx');
    expect(graph.signature).toEqual({
      inputs: [
        { name: 'user_index', dtype: 'int64', shape: ['batch'] },
        { name: 'item_index', dtype: 'int64', shape: ['batch'] },
      ],
      outputs: [{ name: 'scores', dtype: 'float32', shape: ['batch'] }],
    });
    const model = decodeModel(graph.bytes);
    expect(model.ir_version).toBe(8);
    expect(model.opset_import).toEqual([{ domain: '', version: 17 }]);
  });

  it('matches the reference in onnxruntime-node and -web, unknown users and stray items included', async () => {
    const spec = dotRanker(5, 9, 4);
    const result = await rankerParity(spec);
    expect(result.runtimes.node.maxError).toBeLessThanOrEqual(1e-4);
    expect(result.runtimes['web-wasm'].maxError).toBeLessThanOrEqual(1e-4);
    // The probe's last two pairs are out-of-range items: they rank last.
    const n = result.reference.length;
    expect(result.runtimes.node.scores[n - 1]).toBe(Number.NEGATIVE_INFINITY);
    expect(result.runtimes.node.scores[n - 2]).toBe(Number.NEGATIVE_INFINITY);
  });

  it('serves every out-of-range user from the unknown row', () => {
    const spec = dotRanker(3, 4, 2);
    const items = Int32Array.from([1, 1, 1, 1]);
    const scores = referenceRankerScores(spec, [3, -1, 99, 0.5], items);
    const unknown = spec.scorePairs(Int32Array.of(3), Int32Array.of(1))[0];
    expect(Array.from(scores)).toEqual([unknown, unknown, unknown, unknown]);
  });

  it('probe pairs cover every item and unknown users', () => {
    const pairs = rankerProbePairs({ nUsers: 3, nItems: 10 });
    for (let i = 0; i < 10; i++) expect(pairs.items).toContain(i);
    expect(pairs.users).toContain(3);
    expect(pairs.users).toContain(-1);
  });

  it('refuses a spec without counts or functions, and old opsets', () => {
    expect(() => exportRankerGraph({ ...dotRanker(2, 3, 2), nItems: 0 })).toThrow(/nItems must be a positive integer/);
    expect(() => exportRankerGraph({ ...dotRanker(2, 3, 2), scorePairs: undefined as unknown as RankerExport['scorePairs'] })).toThrow(
      /buildGraph and scorePairs/,
    );
    expect(() => exportRankerGraph(dotRanker(2, 3, 2), { opset: 12 })).toThrow(/opset 12 is too old/);
  });
});
