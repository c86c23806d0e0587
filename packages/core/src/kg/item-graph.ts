import { BundleError } from '../errors/index.js';

/**
 * The bundle's item ↔ entity knowledge graph (manifest `kg` section, file `kg.json`): the graph the
 * model was trained with, kept so serving can widen candidates by shared entities and explain
 * recommendations with a path a person can read.
 *
 * File format (JSON, so it needs no decoder beyond the platform's and names travel as they are):
 *   {
 *     "format": "tastemaker-kg", "version": 1,
 *     "relations": ["genre", "year"],                 relation names, index = relation id
 *     "entities": ["Drama", "1995"],                  entity display names, index = entity id
 *     "itemNames": ["Toy Story (1995)", …],           optional, by item row (items.json order)
 *     "items": { "indptr": [items + 1], "relations": [edges], "entities": [edges] }
 *   }
 * Row i of `items` lists item i's (relation, entity) edges: a CSR over the bundle's item rows.
 * Items are not entities here; an edge between two items (Last.FM KG has a few) is written as an
 * edge to an entity named after the other item.
 */
export const KG_FILE_FORMAT = 'tastemaker-kg';
export const KG_FILE_VERSION = 1;
/** Refused before reading: far above any real catalogue's graph (Last.FM KG ≈ 0.3 MB, ML-1M ≈ 0.2 MB). */
export const MAX_KG_FILE_BYTES = 256 * 1024 * 1024;
/** Longest relation / entity / item name kept; a longer one is a malformed or hostile file. */
export const MAX_KG_NAME_LENGTH = 1024;

export interface ItemKnowledgeGraph {
  readonly itemCount: number;
  readonly relationNames: readonly string[];
  readonly entityNames: readonly string[];
  /** display name per item row, when the trainer had titles */
  readonly itemNames: readonly string[] | undefined;
  /** item → (relation, entity) edges, CSR over item rows */
  readonly itemIndptr: Uint32Array;
  readonly itemRelations: Uint32Array;
  readonly itemEntities: Uint32Array;
  /** entity → items holding an edge to it (the reverse CSR), with the edge's relation */
  readonly entityIndptr: Uint32Array;
  readonly entityItems: Uint32Array;
  readonly entityRelations: Uint32Array;
}

export interface KgCounts {
  items: number;
  relations: number;
  entities: number;
  edges: number;
}

/**
 * Parses and checks a kg.json against the manifest's counts. Every index is range-checked here so
 * that serving can read the arrays without bounds checks; each refusal is a BundleError naming
 * the file.
 */
export function parseKgFile(bytes: Uint8Array, file: string, counts: KgCounts): ItemKnowledgeGraph {
  const fail = (message: string, details: Record<string, unknown> = {}): BundleError =>
    new BundleError('BUNDLE_INVALID', `${file}: ${message}`, { file, ...details });
  if (bytes.byteLength > MAX_KG_FILE_BYTES) throw fail(`${bytes.byteLength} bytes is more than the ${MAX_KG_FILE_BYTES} a knowledge graph file may hold`);
  let json: unknown;
  try {
    json = JSON.parse(new TextDecoder().decode(bytes));
  } catch (cause) {
    throw new BundleError('BUNDLE_INVALID', `${file}: not valid JSON`, { file }, { cause });
  }
  if (typeof json !== 'object' || json === null || Array.isArray(json)) throw fail('must be a JSON object');
  const doc = json as Record<string, unknown>;
  if (doc.format !== KG_FILE_FORMAT) throw fail(`format must be "${KG_FILE_FORMAT}", got ${JSON.stringify(doc.format)}`);
  if (doc.version !== KG_FILE_VERSION) {
    throw new BundleError('BUNDLE_UNSUPPORTED', `${file}: version ${JSON.stringify(doc.version)} is not supported (this core reads ${KG_FILE_VERSION})`, { file });
  }

  const names = (key: string, expected: number | undefined): string[] => {
    const value = doc[key];
    if (!Array.isArray(value)) throw fail(`${key} must be an array of strings`);
    if (expected !== undefined && value.length !== expected) throw fail(`${key} holds ${value.length} names but the manifest declares ${expected}`, { field: key });
    value.forEach((v, i) => {
      if (typeof v !== 'string') throw fail(`${key}[${i}] is not a string`, { field: key });
      if (v.length > MAX_KG_NAME_LENGTH) throw fail(`${key}[${i}] is longer than ${MAX_KG_NAME_LENGTH} characters`, { field: key });
    });
    return value as string[];
  };
  const relationNames = names('relations', counts.relations);
  const entityNames = names('entities', counts.entities);
  const itemNames = doc.itemNames === undefined ? undefined : names('itemNames', counts.items);

  const items = doc.items;
  if (typeof items !== 'object' || items === null) throw fail('items must be an object with indptr, relations and entities');
  const edges = items as Record<string, unknown>;
  const indexArray = (key: string, length: number, bound: number): Uint32Array => {
    const value = edges[key];
    if (!Array.isArray(value)) throw fail(`items.${key} must be an array of integers`, { field: `items.${key}` });
    if (value.length !== length) throw fail(`items.${key} holds ${value.length} entries, expected ${length}`, { field: `items.${key}` });
    const out = new Uint32Array(length);
    for (let i = 0; i < length; i++) {
      const v = value[i] as unknown;
      if (typeof v !== 'number' || !Number.isInteger(v) || v < 0 || v >= bound) {
        throw fail(`items.${key}[${i}] = ${JSON.stringify(v)} is not an index in [0, ${bound})`, { field: `items.${key}`, position: i });
      }
      out[i] = v;
    }
    return out;
  };
  const itemIndptr = indexArray('indptr', counts.items + 1, counts.edges + 1);
  if (itemIndptr[0] !== 0) throw fail('items.indptr must start at 0', { field: 'items.indptr' });
  for (let i = 0; i < counts.items; i++) {
    if ((itemIndptr[i + 1] as number) < (itemIndptr[i] as number)) throw fail(`items.indptr decreases at item row ${i}`, { field: 'items.indptr', row: i });
  }
  if (itemIndptr[counts.items] !== counts.edges) {
    throw fail(`items.indptr ends at ${itemIndptr[counts.items]} but the manifest declares ${counts.edges} edges`, { field: 'items.indptr' });
  }
  const itemRelations = indexArray('relations', counts.edges, counts.relations);
  const itemEntities = indexArray('entities', counts.edges, counts.entities);

  const reverse = reverseEdges(counts.entities, itemIndptr, itemRelations, itemEntities);
  return { itemCount: counts.items, relationNames, entityNames, itemNames, itemIndptr, itemRelations, itemEntities, ...reverse };
}

/** The entity → items CSR, items ascending within an entity (counting sort over the item CSR). */
function reverseEdges(
  entityCount: number,
  itemIndptr: Uint32Array,
  itemRelations: Uint32Array,
  itemEntities: Uint32Array,
): Pick<ItemKnowledgeGraph, 'entityIndptr' | 'entityItems' | 'entityRelations'> {
  const entityIndptr = new Uint32Array(entityCount + 1);
  for (const e of itemEntities) entityIndptr[e + 1]!++;
  for (let e = 0; e < entityCount; e++) entityIndptr[e + 1]! += entityIndptr[e]!;
  const fill = entityIndptr.slice(0, entityCount);
  const entityItems = new Uint32Array(itemEntities.length);
  const entityRelations = new Uint32Array(itemEntities.length);
  const items = itemIndptr.length - 1;
  for (let i = 0; i < items; i++) {
    for (let s = itemIndptr[i]!; s < itemIndptr[i + 1]!; s++) {
      const slot = fill[itemEntities[s]!]!++;
      entityItems[slot] = i;
      entityRelations[slot] = itemRelations[s]!;
    }
  }
  return { entityIndptr, entityItems, entityRelations };
}
