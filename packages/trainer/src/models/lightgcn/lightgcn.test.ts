import { describe, expect, it } from 'vitest';
import { Rng } from '../../engine/rng.js';
import { exportGraphs, itemVectors } from '../../export/graphs.js';
import { ORT_RUNTIMES, int64Feed, padHistories, runModel } from '../../onnx/ort-runners.js';
import { randomRows, trainSetFromRows } from '../test-fixtures.js';
import { expectBprGradientMatches } from './gradient-check.js';
import { lightGcnModel, normalizedGraph, propagate } from './index.js';

describe('LightGCN propagation', () => {
  it('averages the layers of the symmetric-normalised graph', () => {
    // user 0 – item 0, user 1 – items 0 and 1: degrees u0 1, u1 2, i0 2, i1 1
    const { csr } = trainSetFromRows([[0], [0, 1]], 2);
    const graph = normalizedGraph(csr);
    const x = Float32Array.of(1, 0, 0, 0); // d = 1: only user 0 is non-zero
    const out = new Float32Array(4);
    propagate(graph, x, 1, 1, out, new Float32Array(4), new Float32Array(4));
    // Â x reaches item 0 with weight 1/√(1·2); the mean with x halves both
    expect(Array.from(out)).toEqual([0.5, 0, Math.fround(0.5 / Math.SQRT2), 0].map(Math.fround));
  });

  it('gradient of the BPR loss through the propagation matches finite differences', () => {
    const rng = new Rng(4);
    const { csr } = trainSetFromRows(randomRows(2, 5, 7, 0.4), 7);
    const graph = normalizedGraph(csr);
    const N = graph.nodes;
    const d = 3;
    const layers = 2;
    const ego = Float32Array.from({ length: N * d }, () => rng.normal());
    const triples = { u: Int32Array.of(0, 1, 4), i: Int32Array.of(5 + 1, 5 + 3, 5 + 0), j: Int32Array.of(5 + 2, 5 + 6, 5 + 5) };
    const grad = expectBprGradientMatches(graph, ego, d, layers, triples, 0.1);
    const nonZero = grad.filter((g) => Math.abs(g) > 1e-4).length;
    expect(nonZero).toBeGreaterThan(ego.length / 2);
  });
});

describe('lightgcn model', () => {
  /** Two taste groups: users 0–9 use items 0–9, users 10–19 items 10–19; one item per user held out. */
  function groups() {
    const rng = new Rng(9);
    const rows: number[][] = [];
    const held: number[] = [];
    for (let u = 0; u < 20; u++) {
      const base = u < 10 ? 0 : 10;
      const items = Array.from({ length: 10 }, (_, k) => base + k).filter(() => rng.next() < 0.6);
      held.push(items.pop()!);
      rows.push(items);
    }
    return { train: trainSetFromRows(rows, 20), held };
  }

  it('learns the groups: a held-out item outranks every item of the other group', async () => {
    const { train, held } = groups();
    const model = await lightGcnModel.fit(train, { seed: 3, epochs: 150, dim: 8, learningRate: 0.01 });
    const users = Int32Array.from({ length: 20 }, (_, u) => u);
    const scores = await model.scoreBatch(users, Array.from(users, () => new Int32Array(0)));
    for (let u = 0; u < 20; u++) {
      const other = u < 10 ? [10, 20] : [0, 10];
      const row = scores.subarray(u * 20, (u + 1) * 20);
      for (let i = other[0]!; i < other[1]!; i++) expect(row[held[u]!]!).toBeGreaterThan(row[i]!);
    }
  });

  it('exports final embeddings that onnxruntime-node and -web score like the trainer, new users folded in', async () => {
    const { train } = groups();
    const model = await lightGcnModel.fit(train, { seed: 3, epochs: 20, dim: 8 });
    const spec = model.exportSpec();
    expect(spec.kind).toBe('matrix-factorization');
    const users = Int32Array.of(0, 7, 19, -1, -1);
    const histories = [new Int32Array(0), new Int32Array(0), new Int32Array(0), Int32Array.of(1, 4), new Int32Array(0)];
    const expected = await model.scoreBatch(users, histories);
    const [graph] = exportGraphs(spec);
    const items = itemVectors(spec)!;
    for (const runtime of ORT_RUNTIMES) {
      const feeds = { user_index: int64Feed(Array.from(users, (u) => (u < 0 ? 20 : u))), history: padHistories(histories, 20) };
      const out = await runModel(runtime, graph!.bytes, feeds, ['user_embedding']);
      const vectors = out.user_embedding!.data;
      for (let b = 0; b < users.length; b++) {
        for (let i = 0; i < 20; i++) {
          let s = 0;
          for (let c = 0; c < items.dim; c++) s += vectors[b * items.dim + c]! * items.values[i * items.dim + c]!;
          expect(Math.abs(s - expected[b * 20 + i]!)).toBeLessThan(1e-4);
        }
      }
    }
  });

  it('rejects invalid hyper-parameters by name', async () => {
    const { train } = groups();
    await expect(lightGcnModel.fit(train, { seed: 1, extra: { layers: -1 } })).rejects.toThrow('Invalid layers for lightgcn: -1');
  });
});
