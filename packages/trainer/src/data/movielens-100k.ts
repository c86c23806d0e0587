import path from 'node:path';
import { IdMap, type Dataset, type FeatureMatrix } from './dataset.js';
import { AGE_BUCKETS, GENDERS, ML1M_GENRES, ageBucket, userFeatureNames } from './demographics.js';
import { FeatureMatrixBuilder, InteractionsBuilder } from './interactions-builder.js';
import { NumericIds, parseNumericTable, rowError } from './numeric-table.js';
import { fileError, fileExists, isBlank, readLines, readText, type TextLines } from './text-file.js';

export const MOVIELENS_100K = 'movielens-100k';

export interface MovieLens100kOptions {
  /**
   * Ratings file inside the directory, default `u.data`; e.g. `u1.base` to read one of the
   * GroupLens splits with the same id maps (ids are fixed by u.user / u.item, not by the ratings).
   */
  ratingsFile?: string;
}

const RATING_COLUMNS = [
  { name: 'user id', integer: true },
  { name: 'item id', integer: true },
  { name: 'rating' },
  { name: 'timestamp' },
];

// u.genre is the source of truth; this is its content, for directories that lack it
const DEFAULT_GENRES = ['unknown', ...ML1M_GENRES];

/**
 * MovieLens 100K from its directory. Users and items are indexed in ascending numeric id order of
 * u.user and u.item (index = id − 1 in the GroupLens files), so every catalogue movie exists even
 * when nobody rated it, and ids agree across the u1…u5/ua/ub splits.
 */
export async function readMovieLens100k(dir: string, options: MovieLens100kOptions = {}): Promise<Dataset> {
  const file = (name: string) => path.join(dir, name);
  const ratingsPath = file(options.ratingsFile ?? 'u.data');
  const [data, itemLines, userLines, genres, occupations] = await Promise.all([
    readText(ratingsPath, 'latin1'),
    readLines(file('u.item'), 'latin1'),
    readLines(file('u.user'), 'latin1'),
    readGenres(file('u.genre')),
    readOccupations(file('u.occupation')),
  ]);

  const { items, itemTitles, itemFeatures } = parseItems(itemLines, genres);
  const { users, userFeatures } = parseUsers(userLines, occupations);

  const table = parseNumericTable(ratingsPath, data, '\t', RATING_COLUMNS);
  const userIds = new NumericIds(users);
  const itemIds = new NumericIds(items);
  const v = table.values;
  const b = new InteractionsBuilder(table.rows);
  for (let r = 0; r < table.rows; r++) {
    const u = userIds.get(v[4 * r] as number);
    if (u === undefined) throw rowError(table, r, `user id ${v[4 * r]} is not in u.user`);
    const it = itemIds.get(v[4 * r + 1] as number);
    if (it === undefined) throw rowError(table, r, `item id ${v[4 * r + 1]} is not in u.item`);
    b.add(u, it, v[4 * r + 2] as number, v[4 * r + 3] as number);
  }
  if (b.length === 0) throw fileError(ratingsPath, 'no ratings');

  return {
    name: MOVIELENS_100K,
    users,
    items,
    interactions: b.build(),
    userFeatures,
    itemFeatures,
    itemTitles,
    source: { format: MOVIELENS_100K, path: dir },
  };
}

async function readGenres(file: string): Promise<string[]> {
  if (!(await fileExists(file))) return DEFAULT_GENRES;
  const lines = await readLines(file, 'latin1');
  const genres: string[] = [];
  for (let i = 0; i < lines.length; i++) {
    if (isBlank(lines.at(i))) continue;
    const f = lines.fields(i, '|', 2, '|');
    const index = lines.index(i, f[1], 'genre index');
    if (genres[index] !== undefined) throw lines.error(i, `duplicate genre index ${index}`);
    genres[index] = f[0] as string;
  }
  for (let g = 0; g < genres.length; g++) {
    if (genres[g] === undefined) throw lines.error(lines.length - 1, `genre index ${g} is missing`);
  }
  return genres;
}

async function readOccupations(file: string): Promise<string[] | undefined> {
  if (!(await fileExists(file))) return undefined;
  const lines = await readLines(file, 'latin1');
  return lines.lines.map((l) => l.trim()).filter((l) => l !== '');
}

/** Registers ids in ascending numeric order; returns the line of each registered id. */
function sortedIds(lines: TextLines, separator: string, count: number, what: string): { ids: IdMap; lineOf: number[] } {
  const rows: { id: number; line: number }[] = [];
  for (let i = 0; i < lines.length; i++) {
    const line = lines.at(i);
    if (isBlank(line)) continue;
    const f = lines.fields(i, separator, count, separator === '|' ? '|' : 'tab');
    rows.push({ id: lines.index(i, f[0]?.trim(), `${what} id`), line: i });
  }
  rows.sort((a, b) => a.id - b.id);
  const ids = new IdMap();
  const lineOf: number[] = [];
  for (const r of rows) {
    // canonical decimal spelling, as the ratings parser produces
    const id = String(r.id);
    if (ids.has(id)) throw lines.error(r.line, `duplicate ${what} id ${id}`);
    ids.add(id);
    lineOf.push(r.line);
  }
  return { ids, lineOf };
}

function parseItems(
  lines: TextLines,
  genres: string[],
): { items: IdMap; itemTitles: string[]; itemFeatures: FeatureMatrix } {
  const fieldCount = 5 + genres.length;
  const { ids: items, lineOf } = sortedIds(lines, '|', fieldCount, 'item');
  const features = new FeatureMatrixBuilder(
    items.size,
    genres.map((g) => `genre:${g}`),
  );
  const itemTitles: string[] = [];
  for (let row = 0; row < lineOf.length; row++) {
    const i = lineOf[row] as number;
    const f = lines.at(i).split('|');
    itemTitles.push(f[1] as string);
    for (let g = 0; g < genres.length; g++) {
      const flag = f[5 + g];
      if (flag === '1') features.set(row, g);
      else if (flag !== '0') throw lines.error(i, `genre flag ${g + 1} is not 0 or 1: ${JSON.stringify(flag)}`);
    }
  }
  return { items, itemTitles, itemFeatures: features.build() };
}

function parseUsers(lines: TextLines, occupationList: string[] | undefined): { users: IdMap; userFeatures: FeatureMatrix } {
  const { ids: users, lineOf } = sortedIds(lines, '|', 5, 'user');
  const occupations =
    occupationList ?? [...new Set(lineOf.map((i) => lines.at(i).split('|')[3] as string))].sort();
  const occupationIndex = new Map(occupations.map((o, k) => [o, k]));
  const features = new FeatureMatrixBuilder(users.size, userFeatureNames(occupations));
  const genderBase = AGE_BUCKETS.length;
  const occupationBase = genderBase + GENDERS.length;
  for (let row = 0; row < lineOf.length; row++) {
    const i = lineOf[row] as number;
    const f = lines.at(i).split('|');
    features.set(row, ageBucket(lines.index(i, f[1], 'age')));
    const gender = (GENDERS as readonly string[]).indexOf(f[2] as string);
    if (gender < 0) throw lines.error(i, `gender must be M or F, got ${JSON.stringify(f[2])}`);
    features.set(row, genderBase + gender);
    const occupation = occupationIndex.get(f[3] as string);
    if (occupation === undefined) throw lines.error(i, `unknown occupation ${JSON.stringify(f[3])} (not in u.occupation)`);
    features.set(row, occupationBase + occupation);
  }
  return { users, userFeatures: features.build() };
}
