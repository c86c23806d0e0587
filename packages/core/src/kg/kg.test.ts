import { describe, expect, it } from 'vitest';
import type { ManifestInput } from '../bundle/manifest.js';
import { memorySource } from '../bundle/source.js';
import { BundleError, TastemakerError } from '../errors/index.js';
import { createNodeBackend } from '../inference/node-backend.js';
import { createRecommenderFromSource } from '../recommender/recommender.js';
import { ExactIndex } from '../retrieval/exact-index.js';
import { expectedUserVector, sealBundle, tinyBundle } from '../testing/bundle-fixture.js';
import { twoStageBundle } from '../testing/ranker-fixture.js';
import { compileTemplates, explainItems } from './explain.js';
import { parseKgFile, type ItemKnowledgeGraph } from './item-graph.js';
import { kgCandidates, resolveKgCandidateOptions } from './kg-candidates.js';
import { relationWeightsOf } from './relation-weights.js';

type Edge = [relation: number, entity: number];

/** A kg.json document from per-item edge lists. */
function kgDoc(relations: string[], entities: string[], edges: Edge[][], itemNames?: string[]) {
  const indptr = [0];
  for (const e of edges) indptr.push((indptr[indptr.length - 1] as number) + e.length);
  return {
    format: 'tastemaker-kg',
    version: 1,
    relations,
    entities,
    ...(itemNames ? { itemNames } : {}),
    items: { indptr, relations: edges.flat().map(([r]) => r), entities: edges.flat().map(([, e]) => e) },
  };
}

const encode = (doc: unknown) => new TextEncoder().encode(JSON.stringify(doc));
const countsOf = (doc: ReturnType<typeof kgDoc>) => ({
  items: doc.items.indptr.length - 1,
  relations: doc.relations.length,
  entities: doc.entities.length,
  edges: doc.items.entities.length,
});

// relations: 0 genre, 1 artist, 2 year; entities: 0 Rock, 1 Jazz, 2 Alice, 3 Bob, 4 1995
const SONGS = kgDoc(
  ['genre', 'artist', 'year'],
  ['Rock', 'Jazz', 'Alice', 'Bob', '1995'],
  [
    [[0, 0], [1, 2]], // 0: Rock, Alice
    [[0, 0], [1, 2]], // 1: Rock, Alice
    [[0, 0], [2, 4]], // 2: Rock, 1995
    [[0, 1], [1, 3]], // 3: Jazz, Bob
    [[0, 1], [2, 4]], // 4: Jazz, 1995
    [[1, 3], [2, 4]], // 5: Bob, 1995
    [], //               6: nothing
    [[0, 0]], //         7: Rock
  ],
  ['Song A', 'Song B', 'Song C', 'Song D', 'Song E', 'Song F', 'Song G', 'Song H'],
);
const songs = (): ItemKnowledgeGraph => parseKgFile(encode(SONGS), 'kg.json', countsOf(SONGS));
const spec = (degree: number) => 1 / Math.log2(1 + degree);

describe('parseKgFile', () => {
  it('reads names and edges and builds the entity → items index', () => {
    const kg = songs();
    expect(kg.relationNames).toEqual(['genre', 'artist', 'year']);
    expect(kg.itemNames?.[3]).toBe('Song D');
    // items linking to Rock (entity 0), ascending
    expect([...kg.entityItems.subarray(kg.entityIndptr[0], kg.entityIndptr[1])]).toEqual([0, 1, 2, 7]);
    expect([...kg.entityItems.subarray(kg.entityIndptr[4], kg.entityIndptr[5])]).toEqual([2, 4, 5]);
  });

  it('refuses hostile or inconsistent files with a BundleError naming the file and the field', () => {
    const bad = (doc: unknown, counts = countsOf(SONGS)) => () => parseKgFile(encode(doc), 'kg.json', counts);
    const withItems = (items: Partial<typeof SONGS.items>) => ({ ...SONGS, items: { ...SONGS.items, ...items } });
    const entities = [...SONGS.items.entities];
    entities[3] = 5;
    expect(bad(withItems({ entities }))).toThrow(/kg\.json: items\.entities\[3\] = 5 is not an index in \[0, 5\)/);
    expect(bad(withItems({ relations: SONGS.items.relations.map((r) => (r === 2 ? -1 : r)) }))).toThrow(/items\.relations\[\d+\] = -1/);
    expect(bad(withItems({ indptr: [0, 2, 1, 6, 8, 10, 12, 12, 13] }))).toThrow('items.indptr decreases at item row 1');
    expect(bad(SONGS, { ...countsOf(SONGS), edges: 12 })).toThrow(/items\.indptr\[\d\] = 13 is not an index|ends at/);
    expect(bad(SONGS, { ...countsOf(SONGS), entities: 6 })).toThrow('entities holds 5 names but the manifest declares 6');
    expect(bad(SONGS, { ...countsOf(SONGS), items: 9 })).toThrow('itemNames holds 8 names but the manifest declares 9');
    expect(bad({ ...SONGS, entities: ['Rock', 'Jazz', 'x'.repeat(2000), 'Bob', '1995'] })).toThrow('entities[2] is longer than 1024 characters');
    expect(bad({ ...SONGS, format: 'other' })).toThrow('format must be "tastemaker-kg"');
    expect(() => parseKgFile(new TextEncoder().encode('{"format": '), 'kg.json', countsOf(SONGS))).toThrow('kg.json: not valid JSON');
    try {
      bad({ ...SONGS, version: 2 })();
      expect.unreachable();
    } catch (e) {
      expect(e).toBeInstanceOf(BundleError);
      expect((e as BundleError).code).toBe('BUNDLE_UNSUPPORTED');
      expect((e as BundleError).file).toBe('kg.json');
    }
  });
});

describe('kgCandidates', () => {
  const ones = new Float64Array(3).fill(1);
  const options = (o = {}) => resolveKgCandidateOptions(o);

  it('scores items sharing entities with the history by relation weight × entity specificity', () => {
    const hits = kgCandidates(songs(), [0], ones, options());
    expect(hits.map((h) => h.row)).toEqual([1, 2, 7]);
    expect(hits[0]?.score).toBeCloseTo(spec(4) + spec(2), 6); // Rock and Alice
    expect(hits[1]?.score).toBeCloseTo(spec(4), 6);
    // an artist weight of 0 leaves only the genre link, so item 1 ties with 2 and 7 (row order)
    const noArtist = relationWeightsOf(songs(), { artist: 0 });
    expect(kgCandidates(songs(), [0], noArtist, options()).map((h) => [h.row, Number(h.score.toFixed(6))])).toEqual([
      [1, Number(spec(4).toFixed(6))],
      [2, Number(spec(4).toFixed(6))],
      [7, Number(spec(4).toFixed(6))],
    ]);
  });

  it('walks further with more hops, never returns history or excluded items, and caps the count', () => {
    expect(kgCandidates(songs(), [0], ones, options({ hops: 2 })).map((h) => h.row)).toEqual([1, 2, 7, 4, 5]);
    // hop 2 reaches 4 and 5 through item 2's year, scaled by the decay and item 2's share of the best score
    const two = kgCandidates(songs(), [0], ones, options({ hops: 2, hopDecay: 0.5 }));
    const item2 = spec(4) / (spec(4) + spec(2));
    expect(two.find((h) => h.row === 4)?.score).toBeCloseTo(0.5 * item2 * spec(3), 6);
    expect(kgCandidates(songs(), [0, 3], ones, options(), new Set([1])).map((h) => h.row)).not.toContain(1);
    expect(kgCandidates(songs(), [0, 3], ones, options()).map((h) => h.row)).not.toContain(3);
    expect(kgCandidates(songs(), [0], ones, options({ maxCandidates: 2 }))).toHaveLength(2);
    // Rock links 4 items: with a cap of 3, only Alice is walked
    expect(kgCandidates(songs(), [0], ones, options({ maxEntityItems: 3 })).map((h) => h.row)).toEqual([1]);
    expect(kgCandidates(songs(), [6], ones, options())).toEqual([]);
  });

  it('rejects bad options at resolution, naming the option', () => {
    expect(() => resolveKgCandidateOptions({ hops: 0 })).toThrow('kg.candidates.hops');
    expect(() => resolveKgCandidateOptions({ maxCandidates: 1.5 })).toThrow('kg.candidates.maxCandidates');
    expect(() => resolveKgCandidateOptions({ hopDecay: 2 })).toThrow('kg.candidates.hopDecay');
    expect(() => relationWeightsOf(songs(), { mood: 1 })).toThrow('has no relation "mood". Valid values: "genre", "artist", "year"');
    expect(() => relationWeightsOf(songs(), { genre: -1 })).toThrow(TastemakerError);
  });
});

describe('explainItems', () => {
  const ids = Array.from({ length: 8 }, (_, i) => `item-${i}`);
  const context = (kg = songs(), weights?: Record<string, number>, templates?: Record<string, string>) => ({
    kg,
    relationWeights: relationWeightsOf(kg, weights),
    itemIds: ids,
    templates: compileTemplates(kg, templates),
  });

  it('picks the most specific shared entity and renders it from the relation template', () => {
    const [one, four, five, six] = explainItems(context(), [0, 3], [1, 4, 5, 6]);
    // item 1 shares Rock (4 items) and Alice (2 items) with item 0: the artist is the better reason
    expect(one).toEqual({ text: 'same artist as Song A', relation: 'artist', entity: 'Alice', viaItem: 'item-0' });
    expect(four).toEqual({ text: 'same genre (Jazz) as Song D', relation: 'genre', entity: 'Jazz', viaItem: 'item-3' });
    expect(five?.viaItem).toBe('item-3');
    expect(five?.relation).toBe('artist');
    expect(six).toBeUndefined(); // no path, no explanation
  });

  it('prefers the most recent history item on a tie and respects relation weights and templates', () => {
    expect(explainItems(context(), [0, 1], [7])[0]?.viaItem).toBe('item-1');
    expect(explainItems(context(), [1, 0], [7])[0]?.viaItem).toBe('item-0');
    expect(explainItems(context(songs(), { artist: 0 }), [0], [1])[0]?.text).toBe('same genre (Rock) as Song A');
    expect(explainItems(context(songs(), {}, { genre: '{entity} again, after {item}' }), [3], [4])[0]?.text).toBe('Jazz again, after Song D');
    expect(explainItems(context(), [2], [5])[0]?.text).toBe('also from 1995, like Song C');
  });

  it('falls back to the generic template and to item ids when the graph has no names', () => {
    const doc = kgDoc(['music.artist.origin', 'influenced_by'], ['Leeds', '{item}'], [[[0, 0], [1, 1]], [[0, 0]], [[1, 1]]]);
    const kg = parseKgFile(encode(doc), 'kg.json', countsOf(doc));
    const [origin, other] = explainItems(context(kg), [0], [1, 2]);
    expect(origin?.text).toBe('same origin (Leeds) as item-0'); // last dotted segment picks the template
    // generic form; an entity named "{item}" is not substituted again
    expect(other?.text).toBe('influenced_by: {item}, like item-0');
  });
});

describe('recommender with a kg section', () => {
  const backend = createNodeBackend({ device: 'cpu' });
  const items = 40;
  // items i and i + 20 share entity "pair-(i mod 20)"; every item has one of 4 genres
  const pairDoc = kgDoc(
    ['genre', 'artist'],
    [...['g0', 'g1', 'g2', 'g3'], ...Array.from({ length: 20 }, (_, i) => `pair-${i}`)],
    Array.from({ length: items }, (_, i): Edge[] => [
      [0, i % 4],
      [1, 4 + (i % 20)],
    ]),
  );
  async function withKg<T extends { files: Record<string, Uint8Array>; manifest: ManifestInput }>(b: T, doc: unknown = pairDoc): Promise<Record<string, Uint8Array>> {
    const manifest: ManifestInput = { ...b.manifest, kg: { file: 'kg.json', relations: 2, entities: 24, edges: 80, source: 'test' } };
    // sealBundle re-hashes every file and writes a fresh manifest.json
    return sealBundle({ ...b.files, 'kg.json': encode(doc) }, manifest);
  }

  it('explains every recommended item that has a path, naming a history item, and leaves the ranking alone by default', async () => {
    const b = await tinyBundle({ items });
    const rec = await createRecommenderFromSource({ source: memorySource(await withKg(b)), backend });
    const plain = await createRecommenderFromSource({ source: memorySource(b.files), backend });
    const res = await rec.recommend({ history: ['item-3', 'item-7'], k: 10 });
    const base = await plain.recommend({ history: ['item-3', 'item-7'], k: 10 });
    expect(res.items.map((i) => i.itemId)).toEqual(base.items.map((i) => i.itemId));
    expect(base.items.every((i) => i.explanation === undefined)).toBe(true);
    for (const item of res.items) {
      const row = Number(item.itemId.slice(5));
      // items 3 and 7 are in genre g3 (row % 4 == 3), and their artists pair-3 / pair-7 hold 23 and 27, also in g3
      if (row % 4 === 3) {
        expect(item.explanation?.viaItem === 'item-3' || item.explanation?.viaItem === 'item-7').toBe(true);
      } else {
        expect(item.explanation).toBeUndefined();
      }
    }
    expect(rec.info().kg).toEqual({ relations: 2, entities: 24, edges: 80, candidates: false, explanations: true });
    await rec.dispose();
    await plain.dispose();
  });

  it('merges KG candidates scored by the model, lifting them by the configured weight', async () => {
    const b = await tinyBundle({ items });
    const source = memorySource(await withKg(b));
    const history = ['item-3'];
    const strong = await createRecommenderFromSource({ source, backend, kg: { candidates: { weight: 100, maxCandidates: 5 } } });
    const res = await strong.recommend({ history, k: 3 });
    // item 23 shares the artist pair-3 (2 items) with item 3: the strongest KG candidate comes first
    expect(res.items[0]?.itemId).toBe('item-23');
    expect(res.items[0]?.explanation).toMatchObject({ relation: 'artist', entity: 'pair-3', viaItem: 'item-3' });
    // the KG candidate keeps its model score, plus the boost
    const u = expectedUserVector(b, 8, undefined, [3]);
    const modelScore = new ExactIndex(b.itemVectors, 8).search(u, items).find((h) => h.row === 23)?.score as number;
    expect(res.items[0]?.score).toBeGreaterThan(modelScore);
    // with weight 0 the pool is ordered by the model alone: same as without the KG (exact search)
    const widened = await createRecommenderFromSource({ source, backend, kg: { candidates: true } });
    const plain = await createRecommenderFromSource({ source: memorySource(b.files), backend });
    expect((await widened.recommend({ history, k: 5 })).items.map((i) => i.itemId)).toEqual((await plain.recommend({ history, k: 5 })).items.map((i) => i.itemId));
    await Promise.all([strong.dispose(), widened.dispose(), plain.dispose()]);
  });

  it('hands KG candidates to a two-stage bundle’s ranker', async () => {
    const b = await twoStageBundle({ items, candidates: 3 });
    const source = memorySource(await withKg(b));
    const rec = await createRecommenderFromSource({ source, backend, kg: { candidates: { maxCandidates: 40 } } });
    const plain = await createRecommenderFromSource({ source: memorySource(b.files), backend });
    const res = await rec.recommend({ history: ['item-3'], k: 3 });
    // every item shares something with item 3 only if in genre g3 or pair-3; the ranker orders retrieval's 3 ∪ those
    const retrieved = new ExactIndex(b.itemVectors, 8)
      .search(expectedUserVector(b, 8, undefined, [3]), 3, new Set([3]))
      .map((h) => h.row);
    const pool = new Set([...retrieved, ...Array.from({ length: items }, (_, i) => i).filter((i) => i !== 3 && (i % 4 === 3 || i % 20 === 3))]);
    const want = [...pool].sort((x, y) => (b.rankerItemScores[y] as number) - (b.rankerItemScores[x] as number)).slice(0, 3);
    expect(res.items.map((i) => i.itemId)).toEqual(want.map((r) => `item-${r}`));
    const without = await plain.recommend({ history: ['item-3'], k: 3 });
    expect(without.items.every((i) => retrieved.includes(Number(i.itemId.slice(5))))).toBe(true);
    await Promise.all([rec.dispose(), plain.dispose()]);
  });

  it('widens the pool by default when the bundle’s ranker is kg-song (the seed’s architecture), unless told not to', async () => {
    const b = await twoStageBundle({ items, candidates: 3 });
    const kgSong = { ...b, manifest: { ...b.manifest, ranker: { ...b.manifest.ranker, kind: 'kg-song' } } as ManifestInput };
    const files = await withKg(kgSong);
    const widened = await createRecommenderFromSource({ source: memorySource(files), backend });
    const narrow = await createRecommenderFromSource({ source: memorySource(files), backend, kg: { candidates: false } });
    expect(widened.info().kg?.candidates).toBe(true);
    expect(narrow.info().kg?.candidates).toBe(false);
    const other = await createRecommenderFromSource({ source: memorySource(await withKg(b)), backend });
    expect(other.info().kg?.candidates).toBe(false);
    await Promise.all([widened.dispose(), narrow.dispose(), other.dispose()]);
  });

  it('fails at construction on a bad kg option, and loading refuses a kg file that does not match the manifest', async () => {
    const b = await tinyBundle({ items });
    const files = await withKg(b);
    await expect(createRecommenderFromSource({ source: memorySource(files), backend, kg: { relationWeights: { mood: 2 } } })).rejects.toThrow(
      /no relation "mood". Valid values: "genre", "artist"/,
    );
    const broken = { ...pairDoc, items: { ...pairDoc.items, entities: pairDoc.items.entities.map((e, i) => (i === 5 ? 99 : e)) } };
    await expect(createRecommenderFromSource({ source: memorySource(await withKg(b, broken)), backend })).rejects.toThrow(
      'kg.json: items.entities[5] = 99 is not an index in [0, 24)',
    );
  });
});
