import { describe, expect, it } from 'vitest';
import { IdMap, type Dataset, type KnowledgeGraph } from '../data/dataset.js';
import { Rng } from '../engine/rng.js';
import { movieDataset } from './test-fixtures.js';
import { buildAdjacency, buildItemKg, degreeOf, knowledgeGraphOf, sampleNeighbors, selfNeighbors, validateKnowledgeGraph } from './index.js';

/** 0 –r0→ 1, 0 –r1→ 2, 3 –r0→ 0, entity 4 isolated. */
function smallKg(): KnowledgeGraph {
  return {
    heads: Int32Array.of(0, 0, 3),
    relations: Int32Array.of(0, 1, 0),
    tails: Int32Array.of(1, 2, 0),
    entityCount: 5,
    relationCount: 2,
    itemEntity: Int32Array.of(0, 1),
  };
}

function neighboursOf(adj: ReturnType<typeof buildAdjacency>, e: number): [number, number][] {
  const out: [number, number][] = [];
  for (let s = adj.indptr[e]!; s < adj.indptr[e + 1]!; s++) out.push([adj.neighbors[s]!, adj.relations[s]!]);
  return out;
}

describe('buildAdjacency', () => {
  it('links both ends of every triple with its relation', () => {
    const adj = buildAdjacency(smallKg());
    expect(neighboursOf(adj, 0)).toEqual([
      [1, 0],
      [2, 1],
      [3, 0],
    ]);
    expect(neighboursOf(adj, 1)).toEqual([[0, 0]]);
    expect(neighboursOf(adj, 3)).toEqual([[0, 0]]);
    expect(degreeOf(adj, 4)).toBe(0);
  });

  it('rejects triples that point outside the graph, naming the triple', () => {
    const kg = { ...smallKg(), tails: Int32Array.of(1, 2, 9) };
    expect(() => validateKnowledgeGraph(kg)).toThrow('triple 2 (3, 0, 9) names an entity outside [0, 5)');
    expect(() => buildAdjacency({ ...smallKg(), relations: Int32Array.of(0, 2, 0) })).toThrow('has a relation outside [0, 2)');
    expect(() => buildAdjacency({ ...smallKg(), itemEntity: Int32Array.of(0, 7) })).toThrow('item 1 maps to entity 7');
  });
});

describe('sampleNeighbors', () => {
  it('draws distinct neighbours when there are enough, with replacement when not, self edges when none', () => {
    const adj = buildAdjacency(smallKg());
    const s = sampleNeighbors(adj, 2, new Rng(1));
    expect(s.selfRelation).toBe(2);
    const row = (e: number) => [...s.entities.subarray(e * 2, e * 2 + 2)];
    // entity 0 has 3 neighbours: 2 distinct ones, each with its own relation
    const r0 = row(0);
    expect(new Set(r0).size).toBe(2);
    for (let k = 0; k < 2; k++) {
      const pair: [number, number] = [s.entities[k]!, s.relations[k]!];
      expect(neighboursOf(adj, 0)).toContainEqual(pair);
    }
    // entity 1 has one neighbour: repeated
    expect(row(1)).toEqual([0, 0]);
    expect([...s.relations.subarray(2, 4)]).toEqual([0, 0]);
    // isolated entity 4 points at itself through the self relation
    expect(row(4)).toEqual([4, 4]);
    expect([...s.relations.subarray(8, 10)]).toEqual([2, 2]);
  });

  it('is a pure function of the seed and samples every neighbour over many seeds', () => {
    const adj = buildAdjacency(smallKg());
    expect(sampleNeighbors(adj, 2, new Rng(5))).toEqual(sampleNeighbors(adj, 2, new Rng(5)));
    const seen = new Set<number>();
    for (let seed = 0; seed < 50; seed++) for (const e of sampleNeighbors(adj, 1, new Rng(seed)).entities.subarray(0, 1)) seen.add(e);
    expect([...seen].sort()).toEqual([1, 2, 3]);
    expect(() => sampleNeighbors(adj, 0, new Rng(1))).toThrow('must be a positive integer');
  });

  it('selfNeighbors gives the no-knowledge ablation', () => {
    const s = selfNeighbors(3, 2, 7);
    expect([...s.entities]).toEqual([0, 0, 1, 1, 2, 2]);
    expect([...s.relations]).toEqual([7, 7, 7, 7, 7, 7]);
  });
});

describe('buildItemKg', () => {
  it('links items to their genres, tags and release year, one relation per kind', () => {
    const { kg, entityNames, relationNames } = buildItemKg(movieDataset());
    expect(relationNames).toEqual(['genre', 'tag', 'year']);
    expect(entityNames).toEqual(['item:10', 'item:20', 'item:30', 'genre:Animation', 'tag:classic', 'genre:Action', 'year:1995']);
    const triples = [...kg.heads].map((h, t) => `${entityNames[h]} ${relationNames[kg.relations[t]!]} ${entityNames[kg.tails[t]!]}`);
    expect(triples).toEqual([
      'item:10 genre genre:Animation',
      'item:10 tag tag:classic',
      'item:20 genre genre:Action',
      'item:30 genre genre:Action',
      'item:10 year year:1995',
      'item:20 year year:1995',
    ]);
    expect([...kg.itemEntity]).toEqual([0, 1, 2]);
    expect(kg.entityCount).toBe(7);
    // the two 1995 films are two hops apart through their year
    const adj = buildAdjacency(kg);
    expect(neighboursOf(adj, 6).map(([e]) => e)).toEqual([0, 1]);
  });

  it('keeps a data set\'s own graph and fails clearly when there is nothing to build from', () => {
    const own = smallKg();
    expect(knowledgeGraphOf({ ...movieDataset(), kg: own })).toBe(own);
    const bare: Dataset = { ...movieDataset(), itemFeatures: undefined, itemTitles: ['a', 'b', 'c'] } as Dataset;
    delete bare.itemFeatures;
    expect(() => buildItemKg(bare)).toThrow('movies has no knowledge graph and no item metadata');
    expect(buildItemKg(movieDataset(), { year: false }).relationNames).toEqual(['genre', 'tag']);
    // names that merely end in a year (an artist called "Band (1995)") are not release years
    const artists: Dataset = { ...movieDataset(), itemTitles: ['Band (1995)', 'Other', 'Third'] };
    expect(buildItemKg(artists).relationNames).toEqual(['genre', 'tag']);
    expect(buildItemKg(artists, { year: true }).relationNames).toEqual(['genre', 'tag', 'year']);
  });
});
