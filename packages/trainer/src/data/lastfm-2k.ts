import path from 'node:path';
import { TastemakerError } from '@tastemaker/core';
import { IdMap, type Dataset, type FeatureMatrix } from './dataset.js';
import { FeatureMatrixBuilder, InteractionsBuilder } from './interactions-builder.js';
import { NumericIds, headerLineCount, parseNumericTable, rowError } from './numeric-table.js';
import { fileError, fileExists, isBlank, readLines, readText, type TextLines } from './text-file.js';

export const LASTFM_2K = 'lastfm-2k';

const PLAY_COLUMNS = [{ name: 'user id', integer: true }, { name: 'artist id', integer: true }, { name: 'weight' }];
const TAGGING_COLUMNS = [
  { name: 'user id', integer: true },
  { name: 'artist id', integer: true },
  { name: 'tag id', integer: true },
  { name: 'day', integer: true },
  { name: 'month', integer: true },
  { name: 'year', integer: true },
];

export interface LastFm2kOptions {
  /** How many of the most used tags become item features (multi-hot); 0 for none. Default 50. */
  topTags?: number;
}

/**
 * HetRec 2011 Last.fm-2k from its directory: user_artists.dat plays (value = listening weight),
 * artists.dat as the catalogue (every artist, in file order) with names as titles, and the top-N
 * tags of user_taggedartists.dat as multi-hot item features. All files have a header line; four
 * are CRLF and tags.dat is latin-1.
 */
export async function readLastFm2k(dir: string, options: LastFm2kOptions = {}): Promise<Dataset> {
  const topTags = options.topTags ?? 50;
  if (!Number.isInteger(topTags) || topTags < 0) {
    throw new TastemakerError('INVALID_CONFIG', `Invalid topTags: ${String(topTags)}. Valid values: a non-negative integer.`, {
      option: 'topTags',
      got: topTags,
    });
  }
  const playsFile = path.join(dir, 'user_artists.dat');
  const [playsText, artists] = await Promise.all([readText(playsFile), readLines(path.join(dir, 'artists.dat'))]);

  const items = new IdMap();
  const itemTitles: string[] = [];
  for (let i = firstDataLine(artists); i < artists.length; i++) {
    if (isBlank(artists.at(i))) continue;
    const f = artists.fields(i, '\t', 2, 'tab', true);
    const id = String(artists.index(i, f[0]?.trim(), 'artist id'));
    if (items.has(id)) throw artists.error(i, `duplicate artist id ${id}`);
    items.add(id);
    itemTitles.push(f[1] as string);
  }
  const itemIds = new NumericIds(items);

  const plays = parseNumericTable(playsFile, playsText, '\t', PLAY_COLUMNS, headerLineCount(playsText));
  const users = new NumericIds();
  const v = plays.values;
  const b = new InteractionsBuilder(plays.rows);
  for (let r = 0; r < plays.rows; r++) {
    const it = itemIds.get(v[3 * r + 1] as number);
    if (it === undefined) throw rowError(plays, r, `artist id ${v[3 * r + 1]} is not in artists.dat`);
    b.add(users.add(v[3 * r] as number), it, v[3 * r + 2] as number);
  }
  if (b.length === 0) throw fileError(playsFile, 'no plays');

  const dataset: Dataset = {
    name: LASTFM_2K,
    users: users.map,
    items,
    interactions: b.build(),
    itemTitles,
    source: { format: LASTFM_2K, path: dir },
  };
  if (topTags > 0) {
    const features = await readTopTags(dir, itemIds, topTags);
    if (features) dataset.itemFeatures = features;
  }
  return dataset;
}

/** HetRec files start with a header (`userID\tartistID…`); skip it when the first field is not a number. */
function firstDataLine(lines: TextLines): number {
  const first = lines.at(0).split('\t')[0] ?? '';
  return /^\d+$/.test(first.trim()) ? 0 : 1;
}

async function readTopTags(dir: string, items: NumericIds, topTags: number): Promise<FeatureMatrix | undefined> {
  const taggedFile = path.join(dir, 'user_taggedartists.dat');
  if (!(await fileExists(taggedFile))) return undefined;
  const tagsFile = path.join(dir, 'tags.dat');
  const [taggedText, tagNames] = await Promise.all([
    readText(taggedFile),
    (await fileExists(tagsFile)) ? readTagNames(tagsFile) : Promise.resolve(new Map<number, string>()),
  ]);
  const tagged = parseNumericTable(taggedFile, taggedText, '\t', TAGGING_COLUMNS, headerLineCount(taggedText));

  const itemOf = new Int32Array(tagged.rows);
  const tagOf = new Int32Array(tagged.rows);
  const usage = new Map<number, number>();
  const v = tagged.values;
  const w = tagged.width;
  let n = 0;
  for (let r = 0; r < tagged.rows; r++) {
    // artists tagged but absent from artists.dat carry no item to describe
    const it = items.get(v[w * r + 1] as number);
    if (it === undefined) continue;
    const tag = v[w * r + 2] as number;
    itemOf[n] = it;
    tagOf[n] = tag;
    n++;
    usage.set(tag, (usage.get(tag) ?? 0) + 1);
  }

  // most assignments first; ties by tag id so the choice does not depend on file order
  const chosen = [...usage.entries()]
    .sort((a, b) => b[1] - a[1] || a[0] - b[0])
    .slice(0, topTags)
    .map(([tag]) => tag);
  const column = new Map(chosen.map((tag, k) => [tag, k]));
  const features = new FeatureMatrixBuilder(
    items.map.size,
    chosen.map((tag) => `tag:${tagNames.get(tag) ?? String(tag)}`),
  );
  for (let k = 0; k < n; k++) {
    const c = column.get(tagOf[k] as number);
    if (c !== undefined) features.set(itemOf[k] as number, c);
  }
  return features.build();
}

async function readTagNames(file: string): Promise<Map<number, string>> {
  const lines = await readLines(file, 'latin1');
  const names = new Map<number, string>();
  for (let i = firstDataLine(lines); i < lines.length; i++) {
    if (isBlank(lines.at(i))) continue;
    const f = lines.fields(i, '\t', 2, 'tab');
    names.set(lines.index(i, f[0], 'tag id'), f[1] as string);
  }
  return names;
}
