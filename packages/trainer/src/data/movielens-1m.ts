import path from 'node:path';
import type { Dataset, FeatureMatrix } from './dataset.js';
import { AGE_BUCKETS, GENDERS, ML1M_GENRES, ML1M_OCCUPATIONS, ageCodeBucket, userFeatureNames } from './demographics.js';
import { FeatureMatrixBuilder, InteractionsBuilder } from './interactions-builder.js';
import { NumericIds, parseNumericTable } from './numeric-table.js';
import { fileError, fileExists, isBlank, readLines, readText } from './text-file.js';

export const MOVIELENS_1M = 'movielens-1m';

/** Tried in order when no ratings file is named: the full file, then the users-1–2999 subset. */
export const ML1M_RATINGS_FILES = ['ratings.dat', 'ratings.users-1-2999.partial.dat'] as const;

const RATING_COLUMNS = [
  { name: 'user id', integer: true },
  { name: 'movie id', integer: true },
  { name: 'rating' },
  { name: 'timestamp' },
];

export interface MovieLens1mOptions {
  /** Ratings file inside the directory; default: the first of ML1M_RATINGS_FILES that exists. */
  ratingsFile?: string;
}

/**
 * MovieLens 1M from its directory. Users and items are indexed in order of first appearance in the
 * ratings file: this reproduces the NCF authors' ids (user = UserID − 1, item = first-appearance
 * order), so their published test/negative files index straight into this data set. The catalogue
 * is the rated movies only; movies.dat and users.dat, when present, add titles and features.
 */
export async function readMovieLens1m(dir: string, options: MovieLens1mOptions = {}): Promise<Dataset> {
  const ratingsPath = await resolveRatingsFile(dir, options.ratingsFile);
  const table = parseNumericTable(ratingsPath, await readText(ratingsPath, 'latin1'), '::', RATING_COLUMNS);

  const users = new NumericIds();
  const items = new NumericIds();
  const v = table.values;
  const b = new InteractionsBuilder(table.rows);
  for (let r = 0; r < table.rows; r++) {
    b.add(users.add(v[4 * r] as number), items.add(v[4 * r + 1] as number), v[4 * r + 2] as number, v[4 * r + 3] as number);
  }
  if (b.length === 0) throw fileError(ratingsPath, 'no ratings');

  const [movies, userFeatures] = await Promise.all([
    readMovies(path.join(dir, 'movies.dat'), items),
    readUsers(path.join(dir, 'users.dat'), users),
  ]);

  const dataset: Dataset = {
    name: MOVIELENS_1M,
    users: users.map,
    items: items.map,
    interactions: b.build(),
    source: { format: MOVIELENS_1M, path: dir },
  };
  if (movies) {
    dataset.itemTitles = movies.titles;
    dataset.itemFeatures = movies.features;
  }
  if (userFeatures) dataset.userFeatures = userFeatures;
  return dataset;
}

async function resolveRatingsFile(dir: string, name: string | undefined): Promise<string> {
  if (name !== undefined) return path.join(dir, name);
  for (const candidate of ML1M_RATINGS_FILES) {
    const p = path.join(dir, candidate);
    if (await fileExists(p)) return p;
  }
  throw fileError(path.join(dir, ML1M_RATINGS_FILES[0]), `file not found (nor ${ML1M_RATINGS_FILES.slice(1).join(', ')})`);
}

/** Titles and genre multi-hot for the rated movies; a rated movie missing here gets '' and no genres. */
async function readMovies(file: string, ids: NumericIds): Promise<{ titles: string[]; features: FeatureMatrix } | undefined> {
  if (!(await fileExists(file))) return undefined;
  const lines = await readLines(file, 'latin1');
  const genres: string[] = [...ML1M_GENRES];
  const genreIndex = new Map(genres.map((g, k) => [g, k]));
  const items = ids.map;
  const titles = new Array<string>(items.size).fill('');
  const rowGenres: number[][] = Array.from({ length: items.size }, () => []);
  for (let i = 0; i < lines.length; i++) {
    if (isBlank(lines.at(i))) continue;
    const f = lines.fields(i, '::', 3, '::');
    const row = ids.get(lines.index(i, f[0]?.trim(), 'movie id'));
    if (row === undefined) continue;
    titles[row] = f[1] as string;
    const list = f[2] as string;
    if (list === '' || list === '(no genres listed)') continue;
    for (const g of list.split('|')) {
      let k = genreIndex.get(g);
      // later MovieLens releases add genres (IMAX); keep them as extra columns rather than fail
      if (k === undefined) {
        k = genres.length;
        genres.push(g);
        genreIndex.set(g, k);
      }
      (rowGenres[row] as number[]).push(k);
    }
  }
  const features = new FeatureMatrixBuilder(
    items.size,
    genres.map((g) => `genre:${g}`),
  );
  for (let row = 0; row < items.size; row++) for (const k of rowGenres[row] as number[]) features.set(row, k);
  return { titles, features: features.build() };
}

/** Gender, age-bucket and occupation one-hots for the users present in the ratings. */
async function readUsers(file: string, users: NumericIds): Promise<FeatureMatrix | undefined> {
  if (!(await fileExists(file))) return undefined;
  const lines = await readLines(file, 'latin1');
  const features = new FeatureMatrixBuilder(users.map.size, userFeatureNames(ML1M_OCCUPATIONS));
  const genderBase = AGE_BUCKETS.length;
  const occupationBase = genderBase + GENDERS.length;
  for (let i = 0; i < lines.length; i++) {
    if (isBlank(lines.at(i))) continue;
    const f = lines.fields(i, '::', 5, '::');
    const row = users.get(lines.index(i, f[0]?.trim(), 'user id'));
    if (row === undefined) continue;
    const gender = (GENDERS as readonly string[]).indexOf(f[1] as string);
    if (gender < 0) throw lines.error(i, `gender must be M or F, got ${JSON.stringify(f[1])}`);
    const age = ageCodeBucket(lines.index(i, f[2], 'age code'));
    if (age < 0) throw lines.error(i, `age code must be one of 1, 18, 25, 35, 45, 50, 56, got ${f[2]}`);
    const occupation = lines.index(i, f[3], 'occupation code');
    if (occupation >= ML1M_OCCUPATIONS.length) throw lines.error(i, `occupation code must be 0–20, got ${occupation}`);
    features.set(row, age);
    features.set(row, genderBase + gender);
    features.set(row, occupationBase + occupation);
  }
  return features.build();
}
