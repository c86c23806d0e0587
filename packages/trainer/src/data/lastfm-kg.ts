import path from 'node:path';
import { IdMap, type Dataset, type KnowledgeGraph } from './dataset.js';
import { InteractionsBuilder } from './interactions-builder.js';
import { parseNumericTable, rowError, type NumericTable } from './numeric-table.js';
import { fileError, readText } from './text-file.js';

export const LASTFM_KG = 'lastfm-kg';

const RATING_COLUMNS = [{ name: 'user', integer: true }, { name: 'item', integer: true }, { name: 'label' }];
const TRIPLE_COLUMNS = [
  { name: 'head', integer: true },
  { name: 'relation', integer: true },
  { name: 'tail', integer: true },
];
const ITEM_ENTITY_COLUMNS = [
  { name: 'artist id', integer: true },
  { name: 'entity id', integer: true },
];

/**
 * The Last.FM data as preprocessed by KGCN (`src/preprocess.py -d music`): ratings_final.txt
 * (`user \t item \t label`, positives and the sampled negatives, both kept because the kgcn
 * protocol scores both), kg_final.txt (`head \t relation \t tail`) and item_index2entity_id.txt
 * (CRLF). Ids are already dense and 0-based, so they are registered 0…max in order and index == id.
 */
export async function readLastFmKg(dir: string): Promise<Dataset> {
  const files = {
    ratings: path.join(dir, 'ratings_final.txt'),
    kg: path.join(dir, 'kg_final.txt'),
    itemEntity: path.join(dir, 'item_index2entity_id.txt'),
  };
  const [ratingsText, kgText, itemEntityText] = await Promise.all([
    readText(files.ratings),
    readText(files.kg),
    readText(files.itemEntity),
  ]);
  const ratings = parseNumericTable(files.ratings, ratingsText, '\t', RATING_COLUMNS);
  const triples = parseNumericTable(files.kg, kgText, '\t', TRIPLE_COLUMNS);
  // line i defines item i; its count is what matters (see parseKg on the entity column)
  const itemCount = parseNumericTable(files.itemEntity, itemEntityText, '\t', ITEM_ENTITY_COLUMNS).rows;
  if (itemCount === 0) throw fileError(files.itemEntity, 'no items');

  const v = ratings.values;
  const b = new InteractionsBuilder(ratings.rows);
  let maxUser = -1;
  for (let r = 0; r < ratings.rows; r++) {
    const u = v[3 * r] as number;
    const it = v[3 * r + 1] as number;
    if (it >= itemCount) throw rowError(ratings, r, `item ${it} has no line in item_index2entity_id.txt (${itemCount} items)`);
    if (u > maxUser) maxUser = u;
    b.add(u, it, v[3 * r + 2] as number);
  }
  if (b.length === 0) throw fileError(files.ratings, 'no interactions');

  return {
    name: LASTFM_KG,
    users: IdMap.from(numbers(maxUser + 1)),
    items: IdMap.from(numbers(itemCount)),
    interactions: b.build(),
    kg: parseKg(triples, itemCount),
    source: { format: LASTFM_KG, path: dir },
  };
}

function* numbers(n: number): Generator<string> {
  for (let i = 0; i < n; i++) yield String(i);
}

function parseKg(table: NumericTable, itemCount: number): KnowledgeGraph {
  const n = table.rows;
  const heads = new Int32Array(n);
  const relations = new Int32Array(n);
  const tails = new Int32Array(n);
  const v = table.values;
  let maxEntity = itemCount - 1;
  let maxRelation = -1;
  for (let r = 0; r < n; r++) {
    const h = v[3 * r] as number;
    const rel = v[3 * r + 1] as number;
    const t = v[3 * r + 2] as number;
    if (h > 0x7fffffff || t > 0x7fffffff || rel > 0x7fffffff) throw rowError(table, r, 'id does not fit in 32 bits');
    heads[r] = h;
    relations[r] = rel;
    tails[r] = t;
    if (h > maxEntity) maxEntity = h;
    if (t > maxEntity) maxEntity = t;
    if (rel > maxRelation) maxRelation = rel;
  }
  // preprocess.py gives the entity of item line i the index i before numbering the other
  // entities, so in kg_final item i is entity i whatever the raw entity column says
  const itemEntity = new Int32Array(itemCount);
  for (let i = 0; i < itemCount; i++) itemEntity[i] = i;
  return { heads, relations, tails, entityCount: maxEntity + 1, relationCount: maxRelation + 1, itemEntity };
}
