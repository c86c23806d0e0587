import path from 'node:path';
import { KG_FILE_FORMAT, KG_FILE_VERSION, MAX_KG_NAME_LENGTH, TastemakerError, type KgSection } from '@tastemaker/core';
import type { Dataset, KnowledgeGraph } from '../data/dataset.js';
import { LASTFM_KG } from '../data/lastfm-kg.js';
import { fileExists, readText, splitLines } from '../data/text-file.js';
import { buildAdjacency } from '../kg/adjacency.js';
import { buildItemKg, type NamedKnowledgeGraph } from '../kg/item-kg.js';

/** The kg section's file inside a bundle. */
export const KG_BUNDLE_FILE = 'kg.json';

/** Models whose training reads a knowledge graph; their bundles carry it without being asked. */
export const KG_MODELS: readonly string[] = ['kgcn', 'kg-song'];

/** A kg section ready for the bundle writer: the manifest entry and the file's bytes. */
export interface BundleKg {
  section: KgSection;
  bytes: Uint8Array;
}

export interface KgNames {
  /** by relation index; default: the named graph's, else `relation <r>` */
  relationNames?: readonly string[];
  /** by entity index; default: the named graph's, else `entity <e>` */
  entityNames?: readonly string[];
  /** display name by item index; default: the data set's titles, else its item ids */
  itemNames?: readonly string[];
}

/**
 * The compact item ↔ entity graph core serves from (format: core/src/kg/item-graph.ts): each
 * item's (relation, entity) edges over attribute entities, with display names.
 *
 * Trainer graphs put items among the entities (`itemEntity`). A triple between an item and an
 * attribute becomes an edge of that item; a triple between two items (the Last.FM KG has 56 of
 * 15,518) becomes, for each end, an edge to an entity named after the other item; triples between
 * two attributes are not kept (core walks item → entity → item only).
 */
export function kgSectionOf(kg: KnowledgeGraph | NamedKnowledgeGraph, dataset: Dataset, options: { source?: string; names?: KgNames } = {}): BundleKg {
  const graph: KnowledgeGraph = 'kg' in kg ? kg.kg : kg;
  const named = 'kg' in kg ? kg : undefined;
  buildAdjacency(graph); // validates every index before anything is read through it
  const nItems = dataset.items.size;
  if (graph.itemEntity.length !== nItems) {
    throw new TastemakerError('INVALID_ARGUMENT', `The knowledge graph maps ${graph.itemEntity.length} items but dataset ${dataset.name} has ${nItems}.`, {
      kgItems: graph.itemEntity.length,
      datasetItems: nItems,
    });
  }
  const relationNames = options.names?.relationNames ?? named?.relationNames ?? Array.from({ length: graph.relationCount }, (_, r) => `relation ${r}`);
  if (relationNames.length !== graph.relationCount) {
    throw new TastemakerError('INVALID_ARGUMENT', `${relationNames.length} relation names for ${graph.relationCount} relations.`);
  }
  const itemNames = options.names?.itemNames ?? dataset.itemTitles ?? dataset.items.ids;
  const rawEntityNames = options.names?.entityNames ?? named?.entityNames;
  const itemOfEntity = new Map<number, number>();
  graph.itemEntity.forEach((e, i) => itemOfEntity.set(e, i));

  // Attribute entities (and items acting as attributes) get dense ids in order of first use.
  const entityIndex = new Map<string, number>();
  const entityNames: string[] = [];
  const entityOf = (key: string, name: string): number => {
    let e = entityIndex.get(key);
    if (e === undefined) {
      e = entityNames.length;
      entityNames.push(clip(name));
      entityIndex.set(key, e);
    }
    return e;
  };
  const attributeName = (entity: number, relation: number): string => {
    const raw = rawEntityNames?.[entity];
    if (raw === undefined) return `entity ${entity}`;
    // buildItemKg names attributes "<relation>:<value>"; the relation is said by the template.
    const prefix = `${relationNames[relation]}:`;
    return raw.startsWith(prefix) ? raw.slice(prefix.length) : raw;
  };
  const edges: { item: number; relation: number; entity: number }[] = [];
  for (let t = 0; t < graph.heads.length; t++) {
    const h = graph.heads[t]!;
    const r = graph.relations[t]!;
    const tail = graph.tails[t]!;
    const hi = itemOfEntity.get(h);
    const ti = itemOfEntity.get(tail);
    if (hi !== undefined && ti === undefined) edges.push({ item: hi, relation: r, entity: entityOf(`e${tail}`, attributeName(tail, r)) });
    else if (ti !== undefined && hi === undefined) edges.push({ item: ti, relation: r, entity: entityOf(`e${h}`, attributeName(h, r)) });
    else if (hi !== undefined && ti !== undefined) {
      edges.push({ item: hi, relation: r, entity: entityOf(`i${ti}`, itemNames[ti] ?? dataset.items.ids[ti] ?? `item ${ti}`) });
      edges.push({ item: ti, relation: r, entity: entityOf(`i${hi}`, itemNames[hi] ?? dataset.items.ids[hi] ?? `item ${hi}`) });
    }
  }
  // CSR by item, duplicates dropped, edges in (relation, entity) order so the file is deterministic.
  edges.sort((a, b) => a.item - b.item || a.relation - b.relation || a.entity - b.entity);
  const indptr = new Array<number>(nItems + 1).fill(0);
  const relations: number[] = [];
  const entities: number[] = [];
  let last: (typeof edges)[number] | undefined;
  for (const e of edges) {
    if (last !== undefined && last.item === e.item && last.relation === e.relation && last.entity === e.entity) continue;
    last = e;
    relations.push(e.relation);
    entities.push(e.entity);
    indptr[e.item + 1]!++;
  }
  for (let i = 0; i < nItems; i++) indptr[i + 1]! += indptr[i]!;

  const doc = {
    format: KG_FILE_FORMAT,
    version: KG_FILE_VERSION,
    relations: relationNames.map(clip),
    entities: entityNames,
    itemNames: Array.from({ length: nItems }, (_, i) => clip(itemNames[i] ?? dataset.items.ids[i] ?? '')),
    items: { indptr, relations, entities },
  };
  const bytes = new TextEncoder().encode(`${JSON.stringify(doc)}\n`);
  return {
    section: {
      file: KG_BUNDLE_FILE,
      relations: relationNames.length,
      entities: entityNames.length,
      edges: relations.length,
      ...(options.source !== undefined ? { source: options.source } : {}),
    },
    bytes,
  };
}

function clip(name: string): string {
  return name.length > MAX_KG_NAME_LENGTH ? name.slice(0, MAX_KG_NAME_LENGTH) : name;
}

/**
 * The kg section a bundle of `modelId` trained on `dataset` carries, or undefined:
 * - `true`: always; the data set's own graph, else one built from its item metadata (fails when it has none);
 * - `'auto'` (default): when the data set has its own graph (Last.FM KG) or the model trains on one;
 * - `false`: never.
 */
export async function bundleKgFor(dataset: Dataset, modelId: string, mode: boolean | 'auto' = 'auto'): Promise<BundleKg | undefined> {
  if (mode === false) return undefined;
  if (mode === 'auto' && dataset.kg === undefined && !KG_MODELS.includes(modelId)) return undefined;
  if (dataset.kg !== undefined) {
    const names = dataset.source?.format === LASTFM_KG ? await lastFmKgNames(dataset.source.path) : undefined;
    return kgSectionOf(dataset.kg, dataset, { source: 'dataset', ...(names ? { names } : {}) });
  }
  return kgSectionOf(buildItemKg(dataset), dataset, { source: 'item-metadata' });
}

/**
 * Names for the Last.FM KG, whose reader keeps ids only: relation names from kg.txt in order of
 * first appearance (how KGCN's preprocess.py numbered them) and artist names from the HetRec
 * artists.dat beside it (../lastfm-2k/), by item_index2entity_id.txt's artist ids. Entities stay
 * anonymous ("entity <id>"): the KGCN authors anonymised them. Missing files leave ids in place.
 */
export async function lastFmKgNames(dir: string): Promise<KgNames | undefined> {
  const kgTxt = path.join(dir, 'kg.txt');
  if (!(await fileExists(kgTxt))) return undefined;
  const relationNames: string[] = [];
  const seen = new Set<string>();
  for (const line of splitLines(await readText(kgTxt))) {
    const relation = line.replace(/\r$/, '').split('\t')[1];
    if (relation !== undefined && relation !== '' && !seen.has(relation)) {
      seen.add(relation);
      relationNames.push(relation);
    }
  }
  const names: KgNames = { relationNames };
  const artists = path.join(dir, '..', 'lastfm-2k', 'artists.dat');
  const mapping = path.join(dir, 'item_index2entity_id.txt');
  if ((await fileExists(artists)) && (await fileExists(mapping))) {
    const byArtist = new Map<string, string>();
    for (const line of splitLines(await readText(artists)).slice(1)) {
      const [id, name] = line.split('\t');
      if (id !== undefined && name !== undefined) byArtist.set(id, name);
    }
    names.itemNames = splitLines(await readText(mapping))
      .map((line) => line.replace(/\r$/, ''))
      .filter((line) => line !== '')
      .map((line) => {
        const artistId = line.split('\t')[0] ?? '';
        return byArtist.get(artistId) ?? artistId;
      });
  }
  return names;
}
