import { parseKgFile, type ItemKnowledgeGraph } from '@tastemaker/core';
import { describe, expect, it } from 'vitest';
import { IdMap, type Dataset, type KnowledgeGraph } from '../data/dataset.js';
import { readLastFmKg } from '../data/lastfm-kg.js';
import { dataPath } from '../data/paths.js';
import { buildItemKg } from '../kg/item-kg.js';
import { movieDataset } from '../kg/test-fixtures.js';
import { bundleKgFor, kgSectionOf, lastFmKgNames, type BundleKg } from './kg-section.js';

/** What core reads back, as "relation entity" strings per item. */
function readBack(written: BundleKg, items: number): { kg: ItemKnowledgeGraph; edges: string[][] } {
  const kg = parseKgFile(written.bytes, written.section.file, { items, ...written.section });
  const edges = Array.from({ length: items }, (_, i) => {
    const out: string[] = [];
    for (let s = kg.itemIndptr[i]!; s < kg.itemIndptr[i + 1]!; s++) out.push(`${kg.relationNames[kg.itemRelations[s]!]} ${kg.entityNames[kg.itemEntities[s]!]}`);
    return out;
  });
  return { kg, edges };
}

describe('kgSectionOf', () => {
  it('writes a metadata graph core reads back: relation names, entity values without their prefix, item titles', () => {
    const written = kgSectionOf(buildItemKg(movieDataset()), movieDataset(), { source: 'item-metadata' });
    expect(written.section).toEqual({ file: 'kg.json', relations: 3, entities: 4, edges: 6, source: 'item-metadata' });
    const { kg, edges } = readBack(written, 3);
    expect(kg.relationNames).toEqual(['genre', 'tag', 'year']);
    expect(kg.itemNames).toEqual(['Toy Story (1995)', 'Heat (1995)', 'Untitled']);
    expect(edges).toEqual([['genre Animation', 'tag classic', 'year 1995'], ['genre Action', 'year 1995'], ['genre Action']]);
  });

  it('turns item–item triples into edges to an entity named after the other item and drops attribute–attribute ones', () => {
    // items 0, 1 are entities 5, 6; entity 7 and 8 are attributes
    const kg: KnowledgeGraph = {
      heads: Int32Array.of(5, 7, 6, 5, 5),
      relations: Int32Array.of(0, 1, 1, 1, 1),
      tails: Int32Array.of(6, 8, 7, 7, 7),
      entityCount: 9,
      relationCount: 2,
      itemEntity: Int32Array.of(5, 6),
    };
    const data: Dataset = { ...movieDataset(), items: IdMap.from(['a', 'b']), itemTitles: ['Alpha', 'Beta'] };
    delete data.itemFeatures;
    const written = kgSectionOf(kg, data, { names: { relationNames: ['similar', 'origin'] } });
    const { edges } = readBack(written, 2);
    // the duplicate (5, origin, 7) is written once; entity 7 has no name, so it is "entity 7"
    expect(edges).toEqual([['similar Beta', 'origin entity 7'], ['similar Alpha', 'origin entity 7']]);
    expect(() => kgSectionOf({ ...kg, itemEntity: Int32Array.of(5) }, data)).toThrow('maps 1 items but dataset movies has 2');
    expect(() => kgSectionOf({ ...kg, tails: Int32Array.of(6, 8, 7, 7, 99) }, data)).toThrow('names an entity outside');
  });
});

describe('bundleKgFor', () => {
  it('adds the graph for KG data and KG models, or when asked, and never when told not to', async () => {
    expect(await bundleKgFor(movieDataset(), 'bpr')).toBeUndefined();
    expect((await bundleKgFor(movieDataset(), 'kgcn'))?.section.source).toBe('item-metadata');
    expect((await bundleKgFor(movieDataset(), 'bpr', true))?.section.edges).toBe(6);
    expect(await bundleKgFor(movieDataset(), 'kgcn', false)).toBeUndefined();
    const bare: Dataset = { ...movieDataset(), itemTitles: ['a', 'b', 'c'] };
    delete bare.itemFeatures;
    await expect(bundleKgFor(bare, 'bpr', true)).rejects.toThrow('no knowledge graph and no item metadata');
  });

  it('names the Last.FM KG relations from kg.txt and its items from the HetRec artists', async () => {
    const dir = dataPath('lastfm-kg');
    const names = await lastFmKgNames(dir);
    expect(names?.relationNames).toHaveLength(60);
    expect(names?.relationNames?.slice(0, 3)).toEqual(['music.artist.origin', 'film.person_or_entity_appearing_in_film.film', 'film.actor.film']);
    // item_index2entity_id.txt line 0 is artist 2 of artists.dat
    expect(names?.itemNames?.[0]).toBe('Diary of Dreams');
    const dataset = await readLastFmKg(dir);
    const written = await bundleKgFor(dataset, 'bpr');
    expect(written?.section).toMatchObject({ relations: 60, source: 'dataset' });
    const { kg } = readBack(written as BundleKg, dataset.items.size);
    // 15,462 item–attribute triples plus both ends of the 56 item–item ones, less duplicates
    expect(kg.itemEntities.length).toBeGreaterThan(15_400);
    expect(kg.itemEntities.length).toBeLessThanOrEqual(15_462 + 112);
  });
});
