import { describe, expect, it } from 'vitest';
import { Rng } from '../engine/rng.js';
import { decodeModel } from '../onnx/codec.js';
import { ORT_RUNTIMES, type OrtRuntime, int64Feed, padHistories, runModel } from '../onnx/ort-runners.js';
import { exportGraphs, itemCountOf, itemVectors, referenceScores, referenceUserVectors, scoringOf, userCountOf } from './graphs.js';
import type { DenseLayer, ExportSpec, MatrixFactorizationExport, TwoTowerExport } from './types.js';

const TOLERANCE = 1e-4;

function randn(rng: Rng, n: number, scale = 1): Float32Array {
  return Float32Array.from({ length: n }, () => rng.normal() * scale);
}

function layer(rng: Rng, inputDim: number, outputDim: number, activation: DenseLayer['activation'], biasShift = 0): DenseLayer {
  return {
    inputDim,
    outputDim,
    weight: randn(rng, inputDim * outputDim, 1 / Math.sqrt(inputDim)),
    bias: randn(rng, outputDim, 0.1).map((b) => b + biasShift),
    activation,
  };
}

function specs(): Record<string, ExportSpec> {
  const rng = new Rng(20240611);
  const twoTower = (opts: { features: boolean; layers: DenseLayer[]; l2: boolean; dim: number }): TwoTowerExport => ({
    kind: 'two-tower',
    nUsers: 5,
    nItems: 9,
    userEmbedding: { dim: 3, values: randn(rng, 5 * 3) },
    historyEmbedding: { dim: 4, values: randn(rng, 9 * 4) },
    ...(opts.features ? { userFeatures: { names: ['age', 'occupation'], values: randn(rng, 5 * 2) } } : {}),
    layers: opts.layers,
    l2Normalize: opts.l2,
    itemVectors: randn(rng, 9 * opts.dim),
    dim: opts.dim,
  });
  return {
    popularity: { kind: 'popularity', scores: randn(rng, 7) },
    'item-similarity': { kind: 'item-similarity', nItems: 6, matrix: randn(rng, 36) },
    'matrix-factorization': { kind: 'matrix-factorization', dim: 4, userFactors: randn(rng, 5 * 4), itemFactors: randn(rng, 8 * 4) },
    'matrix-factorization + bias': {
      kind: 'matrix-factorization',
      dim: 4,
      userFactors: randn(rng, 5 * 4),
      itemFactors: randn(rng, 8 * 4),
      itemBias: randn(rng, 8),
    },
    'two-tower mlp + features + l2': twoTower({
      features: true,
      layers: [layer(rng, 9, 6, 'relu'), layer(rng, 6, 5, 'tanh'), layer(rng, 5, 3, 'linear')],
      l2: true,
      dim: 3,
    }),
    'two-tower no layers, no features': twoTower({ features: false, layers: [], l2: false, dim: 7 }),
    // A relu with a large negative bias outputs all zeros: L2 normalisation must not divide by zero.
    'two-tower zero vectors + l2': twoTower({ features: false, layers: [layer(rng, 7, 4, 'relu', -100)], l2: true, dim: 4 }),
  };
}

/**
 * Known users, unknown users (as users.count and as -1), empty histories, ragged histories padded
 * with items.count, repeated items, and stray out-of-range item ids (treated as padding).
 */
function batchFor(spec: ExportSpec): { users: number[]; histories: number[][] } {
  const nUsers = userCountOf(spec) ?? 5;
  const n = itemCountOf(spec);
  return {
    users: [0, 3, nUsers, -1, nUsers - 1, nUsers, 1, nUsers + 7],
    histories: [[1, 2], [], [0, 3, 3, n - 1], [], [n - 1], [n + 4, -2, 2], [0, 1, 2, 3, 4, 5], [2]],
  };
}

function expectClose(actual: Float32Array, expected: Float32Array): void {
  expect(actual.length).toBe(expected.length);
  let worst = 0;
  for (let k = 0; k < actual.length; k++) {
    const a = actual[k] ?? Number.NaN;
    const e = expected[k] ?? Number.NaN;
    expect(Number.isFinite(a), `element ${k} is ${a}`).toBe(true);
    worst = Math.max(worst, Math.abs(a - e));
  }
  expect(worst).toBeLessThanOrEqual(TOLERANCE);
}

async function runSpec(runtime: OrtRuntime, spec: ExportSpec, users: number[], histories: number[][], minLength = 0): Promise<Float32Array> {
  const [graph] = exportGraphs(spec);
  if (!graph) throw new Error('no graph');
  const output = graph.signature.outputs[0]?.name ?? '';
  const feeds = { user_index: int64Feed(users), history: padHistories(histories, itemCountOf(spec), minLength) };
  const out = await runModel(runtime, graph.bytes, feeds, [output]);
  const result = out[output];
  if (!result) throw new Error('no output');
  return result.data;
}

function reference(spec: ExportSpec, users: number[], histories: number[][]): Float32Array {
  return spec.kind === 'matrix-factorization' || spec.kind === 'two-tower'
    ? referenceUserVectors(spec, users, histories)
    : referenceScores(spec, users, histories);
}

describe('exported graphs match the reference forward', () => {
  const all = Object.entries(specs());
  for (const runtime of ORT_RUNTIMES) {
    describe(`onnxruntime ${runtime}`, () => {
      it.each(all)('%s', async (_name, spec) => {
        const { users, histories } = batchFor(spec);
        const actual = await runSpec(runtime, spec, users, histories);
        expectClose(actual, reference(spec, users, histories));
      });

      it.each(all)('%s with a zero-length history tensor', async (_name, spec) => {
        const users = [0, userCountOf(spec) ?? 0];
        const histories = [[], []];
        const actual = await runSpec(runtime, spec, users, histories);
        expectClose(actual, reference(spec, users, histories));
      });
    });
  }

  it('padding beyond the longest history changes nothing', async () => {
    for (const spec of Object.values(specs())) {
      const { users, histories } = batchFor(spec);
      const tight = await runSpec('node', spec, users, histories);
      const loose = await runSpec('node', spec, users, histories, 12);
      expectClose(loose, tight);
    }
  });
});

describe('other opsets', () => {
  it.each([13, 18, 21])('opset %i exports run and match', async (opset) => {
    for (const spec of Object.values(specs())) {
      const { users, histories } = batchFor(spec);
      const [graph] = exportGraphs(spec, { opset, irVersion: opset >= 21 ? 10 : 8 });
      if (!graph) throw new Error('no graph');
      const output = graph.signature.outputs[0]?.name ?? '';
      const feeds = { user_index: int64Feed(users), history: padHistories(histories, itemCountOf(spec)) };
      const out = await runModel('node', graph.bytes, feeds, [output]);
      expectClose(out[output]?.data ?? new Float32Array(), reference(spec, users, histories));
    }
  });

  it('refuses opsets older than 13', () => {
    expect(() => exportGraphs(specs().popularity as ExportSpec, { opset: 12 })).toThrow(/opset 12 is too old/);
  });
});

describe('reference forward', () => {
  it('matrix factorization scores are P[u]·Q[i] + b[i], folding unknown users in from their history', () => {
    const spec = specs()['matrix-factorization + bias'] as MatrixFactorizationExport;
    const bias = spec.itemBias ?? new Float32Array();
    const d = spec.dim;
    const n = itemCountOf(spec);
    const dot = (a: ArrayLike<number>, aOff: number, b: ArrayLike<number>, bOff: number): number => {
      let s = 0;
      for (let j = 0; j < d; j++) s += (a[aOff + j] ?? 0) * (b[bOff + j] ?? 0);
      return s;
    };
    const scores = referenceScores(spec, [2, -1, 5], [[0], [1, 3], []]);
    const mean = new Float64Array(d);
    for (let j = 0; j < d; j++) mean[j] = ((spec.itemFactors[1 * d + j] ?? 0) + (spec.itemFactors[3 * d + j] ?? 0)) / 2;
    for (let i = 0; i < n; i++) {
      expect(scores[i]).toBeCloseTo(dot(spec.userFactors, 2 * d, spec.itemFactors, i * d) + (bias[i] ?? 0), 5);
      expect(scores[n + i]).toBeCloseTo(dot(mean, 0, spec.itemFactors, i * d) + (bias[i] ?? 0), 5);
      // Unknown user with nothing to go on: the bias alone, i.e. popularity.
      expect(scores[2 * n + i]).toBeCloseTo(bias[i] ?? 0, 5);
    }
  });

  it('item vectors carry MF bias as the last coordinate', () => {
    const spec = specs()['matrix-factorization + bias'] as MatrixFactorizationExport;
    const v = itemVectors(spec);
    expect(v?.dim).toBe(5);
    expect(v?.values[4]).toBe(spec.itemBias?.[0]);
    expect(itemVectors(specs().popularity as ExportSpec)).toBeNull();
    expect(scoringOf(specs().popularity as ExportSpec)).toBe('scores');
    expect(scoringOf(spec)).toBe('embedding');
  });

  it('two-tower output is unit length when l2Normalize is on, zero when the tower outputs zeros', () => {
    const all = specs();
    const spec = all['two-tower mlp + features + l2'] as TwoTowerExport;
    const vectors = referenceUserVectors(spec, [0, 5], [[1], []]);
    const norm = (k: number): number => Math.hypot(...vectors.subarray(k * 3, k * 3 + 3));
    expect(norm(0)).toBeCloseTo(1, 5);
    const zero = referenceUserVectors(all['two-tower zero vectors + l2'] as TwoTowerExport, [0], [[1]]);
    expect([...zero]).toEqual([0, 0, 0, 0]);
  });

  it('refuses inconsistent specs with a message naming the array', () => {
    expect(() => exportGraphs({ kind: 'item-similarity', nItems: 3, matrix: new Float32Array(8) })).toThrow(/matrix has 8 values, expected 9/);
    const bad = { ...(specs()['two-tower mlp + features + l2'] as TwoTowerExport), dim: 4 };
    expect(() => exportGraphs(bad)).toThrow(/outputs 3 values but dim is 4/);
  });
});

describe('graph signatures', () => {
  it('follow the bundle contract and opset 17 / IR 8', () => {
    for (const spec of Object.values(specs())) {
      const [graph] = exportGraphs(spec);
      const embedding = scoringOf(spec) === 'embedding';
      expect(graph?.name).toBe(embedding ? 'user_tower' : 'scorer');
      expect(graph?.opset).toBe(17);
      expect(graph?.signature.inputs).toEqual([
        { name: 'user_index', dtype: 'int64', shape: ['batch'] },
        { name: 'history', dtype: 'int64', shape: ['batch', 'length'] },
      ]);
      const dim = embedding ? itemVectors(spec)?.dim : itemCountOf(spec);
      expect(graph?.signature.outputs).toEqual([{ name: embedding ? 'user_embedding' : 'scores', dtype: 'float32', shape: ['batch', dim] }]);
      const model = decodeModel(graph?.bytes ?? new Uint8Array());
      expect(model.ir_version).toBe(8);
      expect(model.opset_import).toEqual([{ domain: '', version: 17 }]);
    }
  });
});
