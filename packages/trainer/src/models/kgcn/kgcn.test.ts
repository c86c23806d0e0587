import { describe, expect, it } from 'vitest';
import { IdMap, type Dataset, type KnowledgeGraph } from '../../data/dataset.js';
import { toCsr } from '../../data/csr.js';
import { Rng } from '../../engine/rng.js';
import { rankerParity } from '../../export/ranker-parity.js';
import { auc } from '../../eval/metrics.js';
import { buildAdjacency, sampleNeighbors } from '../../kg/adjacency.js';
import type { TrainSet } from '../types.js';
import { KGCN_AGGREGATORS, KgcnWorkspace, initKgcnWeights, kgcnModel, kgcnRankerExport, zeroGradients, type KgcnAggregator, type KgcnWeights } from './index.js';

/** A random graph over `entities` entities whose first `items` are items. */
function randomKg(rng: Rng, items: number, entities: number, relations: number, triples: number): KnowledgeGraph {
  const heads = new Int32Array(triples);
  const rels = new Int32Array(triples);
  const tails = new Int32Array(triples);
  for (let t = 0; t < triples; t++) {
    heads[t] = rng.int(items);
    rels[t] = rng.int(relations);
    tails[t] = rng.int(entities);
  }
  return { heads, relations: rels, tails, entityCount: entities, relationCount: relations, itemEntity: Int32Array.from({ length: items }, (_, i) => i) };
}

function smallWeights(aggregator: KgcnAggregator, nIter: number, seed: number): KgcnWeights {
  const rng = new Rng(seed);
  const kg = randomKg(rng, 6, 12, 3, 20);
  const w = initKgcnWeights({ nUsers: 4, nItems: 6, dim: 5, nIter, aggregator }, sampleNeighbors(buildAdjacency(kg), 3, rng), kg.itemEntity, rng);
  // larger than Glorot so the check is not dominated by near-zero gradients; biases off zero so
  // few ReLUs sit at their kink
  for (const t of [w.user, w.entity, w.relation]) for (let k = 0; k < t.length; k++) t[k] = rng.normal();
  for (const l of w.layers) for (let k = 0; k < l.bias.length; k++) l.bias[k] = 0.3 * rng.normal();
  return w;
}

const SAMPLES = [
  [0, 1, 1],
  [1, 4, 0],
  [2, 2, 1],
  [3, 5, 0],
  [0, 0, 0],
] as const;

/** Σ binary cross-entropy over SAMPLES, in float64 on top of the float32 weights. */
function loss(w: KgcnWeights): number {
  const ws = new KgcnWorkspace(w);
  let total = 0;
  for (const [u, i, y] of SAMPLES) {
    const x = ws.forward(w.user.subarray(u * w.dim, (u + 1) * w.dim), u, i);
    total += Math.max(x, 0) - x * y + Math.log1p(Math.exp(-Math.abs(x)));
  }
  return total;
}

function analytic(w: KgcnWeights) {
  const g = zeroGradients(w);
  const ws = new KgcnWorkspace(w);
  const du = new Float64Array(w.dim);
  for (const [u, i, y] of SAMPLES) {
    const uVec = w.user.subarray(u * w.dim, (u + 1) * w.dim);
    const x = ws.forward(uVec, u, i);
    du.fill(0);
    ws.backward(uVec, 1 / (1 + Math.exp(-x)) - y, g, du);
    for (let c = 0; c < w.dim; c++) g.user[u * w.dim + c]! += du[c]!;
  }
  return g;
}

describe('KGCN backward pass', () => {
  for (const aggregator of KGCN_AGGREGATORS) {
    it(`matches central finite differences (${aggregator} aggregator, 2 hops)`, () => {
      const w = smallWeights(aggregator, 2, 11);
      const g = analytic(w);
      const pairs: [string, Float32Array, Float32Array][] = [
        ['user', w.user, g.user],
        ['entity', w.entity, g.entity],
        ['relation', w.relation, g.relation],
        ...w.layers.flatMap((l, i): [string, Float32Array, Float32Array][] => [
          [`layer${i}.weight`, l.weight, g.layers[i]!.weight],
          [`layer${i}.bias`, l.bias, g.layers[i]!.bias],
        ]),
      ];
      let checked = 0;
      let kinks = 0;
      const numeric = (param: Float32Array, k: number, h: number): number => {
        const orig = param[k]!;
        param[k] = orig + h;
        const up = loss(w);
        const hUp = param[k]! - orig; // the step float32 actually took
        param[k] = orig - h;
        const down = loss(w);
        const hDown = orig - param[k]!;
        param[k] = orig;
        return (up - down) / (hUp + hDown);
      };
      for (const [name, param, grad] of pairs) {
        for (let k = 0; k < param.length; k++) {
          // a ReLU switching inside [−h, h] spoils a central difference; a smaller step then
          // avoids the kink, while a wrong gradient stays wrong at every step
          let ok = false;
          for (const h of [1e-3, 2.5e-4, 6e-5]) {
            const num = numeric(param, k, h);
            if (Math.abs(num - grad[k]!) / Math.max(1, Math.abs(num)) <= 1e-3) {
              ok = true;
              break;
            }
            kinks++;
          }
          if (!ok) throw new Error(`${name}[${k}]: analytic ${grad[k]} vs numeric ${numeric(param, k, 1e-3)}`);
          if (grad[k] !== 0) checked++;
        }
      }
      expect(kinks).toBeLessThan(checked / 20);
      // the check must have exercised real gradients in every table
      expect(checked).toBeGreaterThan(100);
      expect(g.relation.some((v) => v !== 0)).toBe(true);
    });
  }
});

/**
 * Users in 4 taste groups; group k likes the items linked to attribute entity k. Training pairs
 * cover only the even items, so the odd items are reachable only through the knowledge graph.
 */
function tasteData(): { train: TrainSet; test: { user: Int32Array; item: Int32Array; label: Uint8Array } } {
  const rng = new Rng(3);
  const nUsers = 40;
  const nItems = 48;
  const groups = 4;
  const groupOf = (i: number) => i % groups;
  const heads: number[] = [];
  const rels: number[] = [];
  const tails: number[] = [];
  for (let i = 0; i < nItems; i++) {
    heads.push(i);
    rels.push(0);
    tails.push(nItems + groupOf(i));
  }
  const kg: KnowledgeGraph = {
    heads: Int32Array.from(heads),
    relations: Int32Array.from(rels),
    tails: Int32Array.from(tails),
    entityCount: nItems + groups,
    relationCount: 1,
    itemEntity: Int32Array.from({ length: nItems }, (_, i) => i),
  };
  const rows: [number, number, number][] = [];
  const test: [number, number, number][] = [];
  for (let u = 0; u < nUsers; u++) {
    for (let i = 0; i < nItems; i++) {
      if (rng.next() > 0.5) continue;
      const label = groupOf(i) === u % groups ? 1 : 0;
      ((i / groups) % 2 < 1 ? rows : test).push([u, i, label]);
    }
  }
  const dataset: Dataset = {
    name: 'taste',
    users: IdMap.from(Array.from({ length: nUsers }, (_, u) => `u${u}`)),
    items: IdMap.from(Array.from({ length: nItems }, (_, i) => `i${i}`)),
    interactions: {
      user: Int32Array.from(rows, (r) => r[0]),
      item: Int32Array.from(rows, (r) => r[1]),
      value: Float32Array.from(rows, (r) => r[2]),
      timestamp: new Float64Array(rows.length).fill(Number.NaN),
    },
    kg,
  };
  const positives = { ...dataset, interactions: { ...dataset.interactions } };
  return {
    train: { dataset, csr: toCsr(positives, nUsers, nItems) },
    test: { user: Int32Array.from(test, (r) => r[0]), item: Int32Array.from(test, (r) => r[1]), label: Uint8Array.from(test, (r) => r[2]) },
  };
}

async function testAuc(knowledge: 'graph' | 'none'): Promise<number> {
  const { train, test } = tasteData();
  const model = await kgcnModel.fit(train, { seed: 1, epochs: 40, learningRate: 0.02, dim: 8, neighbors: 2, l2: 0, extra: { knowledge } });
  const scores = await model.scoreBatch(Int32Array.from({ length: 40 }, (_, u) => u), Array.from({ length: 40 }, () => new Int32Array(0)));
  return auc(
    Float64Array.from(test.user, (u, k) => scores[u * 48 + test.item[k]!]!),
    test.label,
  );
}

describe('kgcn model', () => {
  it('ranks items never seen in training through their knowledge-graph neighbours, and not without them', async () => {
    expect(await testAuc('graph')).toBeGreaterThan(0.9);
    expect(await testAuc('none')).toBeLessThan(0.7);
  });

  it('rejects an unknown aggregator, listing the valid ones', async () => {
    const { train } = tasteData();
    await expect(kgcnModel.fit(train, { seed: 1, extra: { aggregator: 'mean' } })).rejects.toThrow(
      'Invalid kgcn aggregator: "mean". Valid values: "sum", "concat", "neighbor".',
    );
    await expect(kgcnModel.fit(train, { seed: 1, extra: { knowledge: 'maybe' } })).rejects.toThrow('Valid values: "graph", "none"');
  });
});

describe('kgcn ranker export', () => {
  for (const [aggregator, nIter] of [
    ['sum', 1],
    ['concat', 2],
    ['neighbor', 2],
  ] as const) {
    it(`scores like the trainer in onnxruntime-node and -web (${aggregator}, ${nIter} hops)`, async () => {
      const spec = kgcnRankerExport(smallWeights(aggregator, nIter, 5));
      const result = await rankerParity(spec);
      expect(result.runtimes.node.maxError).toBeLessThanOrEqual(1e-4);
      expect(result.runtimes['web-wasm'].maxError).toBeLessThanOrEqual(1e-4);
      // the reference is the model's own forward pass
      const model = spec.scorePairs(Int32Array.of(1), Int32Array.of(3));
      const w = smallWeights(aggregator, nIter, 5);
      expect(model[0]).toBeCloseTo(new KgcnWorkspace(w).forward(w.user.subarray(w.dim, 2 * w.dim), 1, 3), 5);
    });
  }
});
