import { describe, expect, it } from 'vitest';
import type { KnowledgeGraph } from '../../data/dataset.js';
import { Rng } from '../../engine/rng.js';
import { trainSetFromRows } from '../test-fixtures.js';
import { expectBprGradientMatches } from './gradient-check.js';
import { knowledgeEdges, lightGcnModel, lightGcnParams, normalizedGraph, propagate } from './index.js';

/** Items 0…nItems−1 are entities 0…nItems−1; attribute entities follow. */
function itemKg(nItems: number, triples: [number, number, number][], entityCount: number, relationCount = 1): KnowledgeGraph {
  return {
    heads: Int32Array.from(triples.map((t) => t[0])),
    relations: Int32Array.from(triples.map((t) => t[1])),
    tails: Int32Array.from(triples.map((t) => t[2])),
    entityCount,
    relationCount,
    itemEntity: Int32Array.from({ length: nItems }, (_, i) => i),
  };
}

function neighbours(graph: ReturnType<typeof normalizedGraph>, node: number): number[] {
  return [...graph.indices.subarray(graph.indptr[node]!, graph.indptr[node + 1]!)].sort((a, b) => a - b);
}

describe('collaborative knowledge graph', () => {
  // users 0, 1; items 0, 1, 2 (nodes 2, 3, 4); attribute entities 3, 4 (nodes 5, 6)
  const { csr } = trainSetFromRows([[0], [0, 1]], 3);
  const kg = itemKg(
    3,
    [
      [0, 0, 3],
      [1, 0, 3],
      [1, 0, 3], // a parallel triple counts once
      [2, 0, 4],
      [4, 0, 4], // a self-loop is dropped
    ],
    5,
  );

  it('without knowledge the graph has only user and item nodes', () => {
    const plain = normalizedGraph(csr);
    expect(plain.nodes).toBe(5);
    expect(neighbours(plain, 2)).toEqual([0, 1]);
    expect(neighbours(plain, 4)).toEqual([]);
  });

  it('adds the non-item entities as nodes after the items, items standing for their own entities', () => {
    const edges = knowledgeEdges(kg, 2, 3);
    expect(edges.entityNodes).toBe(2);
    expect([...edges.entityNode]).toEqual([2, 3, 4, 5, 6]);
    const graph = normalizedGraph(csr, edges);
    expect(graph.nodes).toBe(7);
    expect(neighbours(graph, 2)).toEqual([0, 1, 5]); // item 0: both users and the shared entity
    expect(neighbours(graph, 5)).toEqual([2, 3]);
    expect(neighbours(graph, 4)).toEqual([6]); // item 2 has no user but reaches its entity
    expect(neighbours(graph, 6)).toEqual([4]);
    // symmetric normalisation over the combined degrees: item 0 has degree 3, entity 3 degree 2
    const slot = graph.indptr[2]! + [...graph.indices.subarray(graph.indptr[2]!, graph.indptr[3]!)].indexOf(5);
    expect(graph.weights[slot]).toBeCloseTo(1 / Math.sqrt(3 * 2), 6);
  });

  it('an entity shared by two items propagates the same signal into both, and none into other items', () => {
    const graph = normalizedGraph(csr, knowledgeEdges(kg, 2, 3));
    const x = new Float32Array(graph.nodes);
    x[5] = 1; // only the shared entity is non-zero (d = 1)
    const out = new Float32Array(graph.nodes);
    propagate(graph, x, 1, 1, out, new Float32Array(graph.nodes), new Float32Array(graph.nodes));
    expect(out[2]!).toBeGreaterThan(0);
    expect(out[3]!).toBeGreaterThan(0);
    expect(out[4]!).toBe(0);
    // a gradient on item 0 reaches item 1 through the entity in two hops
    const g = new Float32Array(graph.nodes);
    g[2] = 1;
    propagate(graph, g, 1, 2, out, new Float32Array(graph.nodes), new Float32Array(graph.nodes));
    expect(out[3]!).toBeGreaterThan(0);
    expect(out[4]!).toBe(0);
  });

  it('gives an entity claimed by several items its own node, linked to each of them', () => {
    const shared: KnowledgeGraph = { ...itemKg(3, [[0, 0, 3]], 4), itemEntity: Int32Array.of(0, 0, 1) };
    const edges = knowledgeEdges(shared, 2, 3);
    // entity 0 (items 0 and 1) and entities 2, 3 become nodes 5, 6, 7; entity 1 is item 2
    expect([...edges.entityNode]).toEqual([5, 4, 6, 7]);
    const pairs = [...edges.a].map((a, k) => [a, edges.b[k]]);
    expect(pairs).toEqual([
      [2, 5],
      [3, 5],
      [5, 7],
    ]);
  });

  it('rejects a graph that does not map every item', () => {
    expect(() => knowledgeEdges(itemKg(2, [[0, 0, 2]], 3), 2, 3)).toThrow('the knowledge graph maps 2 items but the data set has 3');
  });

  it('gradient of the BPR loss through the knowledge graph matches finite differences, entities included', () => {
    const graph = normalizedGraph(csr, knowledgeEdges(kg, 2, 3));
    const N = graph.nodes;
    const d = 2;
    const rng = new Rng(7);
    const ego = Float32Array.from({ length: N * d }, () => rng.normal());
    const triples = { u: Int32Array.of(0, 1), i: Int32Array.of(2, 3), j: Int32Array.of(4, 4) };
    const grad = expectBprGradientMatches(graph, ego, d, 2, triples, 0.1);
    // the entity rows (nodes 5, 6) get a gradient: they are trained, not fixed
    expect(Math.abs(grad[5 * d]!) + Math.abs(grad[5 * d + 1]!)).toBeGreaterThan(1e-4);
  });
});

describe('lightgcn knowledge=graph', () => {
  /**
   * Two taste groups over items 0–9 (group A) and 10–19 (group B); items 20 and 21 have no
   * interactions at all. The KG links every A item and item 20 to entity 22, every B item and item
   * 21 to entity 23. Only the KG can tell which group the cold items belong to.
   */
  function coldStart() {
    const rng = new Rng(2);
    const rows: number[][] = [];
    for (let u = 0; u < 20; u++) {
      const base = u < 10 ? 0 : 10;
      rows.push(Array.from({ length: 10 }, (_, k) => base + k).filter(() => rng.next() < 0.6));
    }
    const train = trainSetFromRows(rows, 22);
    const triples: [number, number, number][] = [];
    for (let i = 0; i < 10; i++) triples.push([i, 0, 22]);
    for (let i = 10; i < 20; i++) triples.push([i, 0, 23]);
    triples.push([20, 0, 22], [21, 0, 23]);
    train.dataset = { ...train.dataset, kg: itemKg(22, triples, 24) };
    return train;
  }

  async function coldGap(knowledge: 'graph' | 'none'): Promise<number> {
    const model = await lightGcnModel.fit(coldStart(), { seed: 3, epochs: 60, dim: 8, learningRate: 0.01, extra: { knowledge } });
    const users = Int32Array.from({ length: 20 }, (_, u) => u);
    const scores = await model.scoreBatch(users, Array.from(users, () => new Int32Array(0)));
    // how much more group A likes cold item 20 than cold item 21, minus the same for group B
    let gap = 0;
    for (let u = 0; u < 20; u++) {
      const pref = scores[u * 22 + 20]! - scores[u * 22 + 21]!;
      gap += u < 10 ? pref : -pref;
    }
    model.dispose();
    return gap / 20;
  }

  it('places cold items with the group of the items they share an entity with', async () => {
    const withKg = await coldGap('graph');
    expect(withKg).toBeGreaterThan(0.5);
    // without the KG the cold items carry no group signal
    expect(Math.abs(await coldGap('none'))).toBeLessThan(withKg / 4);
  });

  it('keeps users and items in the exported bundle, and validates the option', async () => {
    const model = await lightGcnModel.fit(coldStart(), { seed: 1, epochs: 2, dim: 4, extra: { knowledge: 'graph' } });
    const spec = model.exportSpec();
    if (spec.kind !== 'matrix-factorization') throw new Error(`expected a matrix-factorization export, got ${spec.kind}`);
    expect(spec.userFactors.length).toBe(20 * 4);
    expect(spec.itemFactors.length).toBe(22 * 4);
    expect(model.info.params).toMatchObject({ knowledge: 'graph' });
    expect(lightGcnParams({ seed: 1 }).knowledge).toBe('none');
    expect(() => lightGcnParams({ seed: 1, extra: { knowledge: 'yes' } })).toThrow(/knowledge.*graph/);
  });
});
