import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { TastemakerError, invalidConfig } from '@tastemaker/core';
import type { Dataset } from '../data/dataset.js';
import { selectInteractions, subsetInteractions } from '../data/transform.js';
import { Rng } from '../engine/rng.js';
import type { TrainSet } from '../models/types.js';
import { ctrAucSplit } from './ctr-auc.js';
import { drrUsersSplit } from './drr-users.js';
import { rowsByUser, rowsWhere, trainSetOf } from './train-set.js';

/**
 * Train/test splits that reproduce the evaluation protocols of the papers we compare against
 * (DESIGN.md, "Protocols"). Every random choice goes through an Rng seeded from `seed`, so a split
 * is a pure function of (dataset, protocol, options).
 */

export const PROTOCOL_IDS = ['ratio-75', 'ncf-loo', 'kgcn', 'loo-full', 'drr-users', 'ctr-auc'] as const;
export type ProtocolId = (typeof PROTOCOL_IDS)[number];

/**
 * Users to rank items for. `relevant[i]` are the held-out items of `users[i]` (ascending).
 * `candidates[i]`, when present, is the closed list to rank (it contains the relevant items);
 * an entry of -1 stands for a sampled item that is not in the data set (see ncf-loo).
 * When `candidates` is undefined, every item not in the user's train set is ranked.
 */
export interface RankingTest {
  kind: 'ranking';
  users: Int32Array;
  relevant: Int32Array[];
  candidates?: Int32Array[];
}

/** Labelled (user, item) pairs for CTR-style metrics (AUC, F1). */
export interface PairTest {
  kind: 'pairs';
  user: Int32Array;
  item: Int32Array;
  /** 1 = positive, 0 = negative */
  label: Uint8Array;
}

export interface Split {
  protocol: ProtocolId;
  train: TrainSet;
  test: RankingTest | PairTest;
  /** a held-out part for tuning, when the protocol defines one (kgcn's 20 % eval part) */
  validation?: RankingTest | PairTest;
  /** how the split was made, and where it departs from the paper; shown in reports */
  notes: string[];
  /** ranking cut-offs the protocol reports besides the caller's k (drr-users: 5 and 10) */
  reportK?: number[];
}

export interface SplitOptions {
  seed: number;
  /** sampled negatives per test user for ncf-loo (default 99, the NCF paper's) */
  negatives?: number;
}

/** Marker in `RankingTest.candidates` for a sampled item that the data set does not contain. */
export const UNKNOWN_ITEM = -1;

export function isProtocolId(x: string): x is ProtocolId {
  return (PROTOCOL_IDS as readonly string[]).includes(x);
}

export async function makeSplit(dataset: Dataset, protocol: ProtocolId, options: SplitOptions): Promise<Split> {
  const seed = options.seed;
  if (!Number.isInteger(seed)) {
    throw new TastemakerError('INVALID_ARGUMENT', `makeSplit: seed must be an integer, got ${String(seed)}`, { seed });
  }
  const negatives = options.negatives ?? 99;
  if (!Number.isInteger(negatives) || negatives < 0) {
    throw new TastemakerError('INVALID_ARGUMENT', `makeSplit: negatives must be a non-negative integer, got ${String(negatives)}`, {
      negatives,
    });
  }
  switch (protocol) {
    case 'ratio-75':
      return ratioSplit(dataset, 0.75, seed);
    case 'loo-full':
      return leaveOneOut(dataset, 'loo-full', seed, 0);
    case 'ncf-loo': {
      const ncfDir = ncfProtocolDir(dataset);
      if (ncfDir !== undefined) return ncfFilesSplit(dataset, ncfDir, negatives);
      return leaveOneOut(dataset, 'ncf-loo', seed, negatives);
    }
    case 'kgcn':
      return kgcnSplit(dataset, seed);
    case 'drr-users':
      return drrUsersSplit(dataset);
    case 'ctr-auc':
      return ctrAucSplit(dataset, seed);
    default: {
      // reachable from untyped callers (CLI flags, config files)
      const got: never = protocol;
      throw invalidConfig('protocol', got, PROTOCOL_IDS);
    }
  }
}

/** numpy's round (half to even), so per-user train sizes match MS Recommenders' `np.split` points. */
function roundHalfEven(x: number): number {
  const f = Math.floor(x);
  const diff = x - f;
  if (diff > 0.5) return f + 1;
  if (diff < 0.5) return f;
  return f % 2 === 0 ? f : f + 1;
}

/** Each user's distinct items in order of first appearance, with the rows holding each. */
function distinctItems(dataset: Dataset, rows: Int32Array): Map<number, number[]> {
  const m = new Map<number, number[]>();
  for (const r of rows) {
    const item = dataset.interactions.item[r] as number;
    const list = m.get(item);
    if (list) list.push(r);
    else m.set(item, [r]);
  }
  return m;
}

/**
 * Per user, a seeded random `ratio` of their items go to train and the rest are held out
 * (MS Recommenders' python_stratified_split: train size = round(ratio · n) per user).
 * Split on distinct items rather than rows so a repeated (user, item) never lands on both sides.
 */
function ratioSplit(dataset: Dataset, ratio: number, seed: number): Split {
  const rng = new Rng(seed);
  const nUsers = dataset.users.size;
  const byUser = rowsByUser(dataset.interactions, nUsers);
  const inTrain = new Uint8Array(dataset.interactions.user.length);
  const users: number[] = [];
  const relevant: Int32Array[] = [];
  let duplicateRows = 0;
  for (let u = 0; u < nUsers; u++) {
    const groups = distinctItems(dataset, byUser[u] as Int32Array);
    const items = [...groups.keys()];
    duplicateRows += (byUser[u] as Int32Array).length - items.length;
    rng.shuffle(items);
    const nTrain = roundHalfEven(ratio * items.length);
    for (let j = 0; j < nTrain; j++) for (const r of groups.get(items[j] as number) as number[]) inTrain[r] = 1;
    if (nTrain < items.length) {
      users.push(u);
      relevant.push(Int32Array.from(items.slice(nTrain)).sort());
    }
  }
  const notes = [
    `ratio-75: per user, round(0.75·n) of their n distinct items (seeded shuffle, seed ${seed}) train, the rest test; every interaction counts as a positive; all items not in the user's train set are ranked.`,
    `${users.length} of ${nUsers} users have held-out items.`,
  ];
  if (duplicateRows > 0) notes.push(`${duplicateRows} repeated (user, item) rows were kept on the same side as their first occurrence.`);
  return {
    protocol: 'ratio-75',
    train: trainSetOf(dataset, rowsWhere(inTrain)),
    test: { kind: 'ranking', users: Int32Array.from(users), relevant },
    notes,
  };
}

/** Timestamp order with NaN (no timestamp) lowest, so without timestamps the last row in file wins. */
function tsKey(t: number): number {
  return Number.isNaN(t) ? -Infinity : t;
}

/**
 * Draws `count` distinct items from [0, nItems) outside `taken` (fewer if not enough remain).
 * Rejection sampling while the pool is large compared with `count`; an explicit pool otherwise.
 */
function sampleNegatives(rng: Rng, nItems: number, taken: ReadonlySet<number>, count: number): Int32Array {
  const available = nItems - taken.size;
  if (available <= 0 || count === 0) return new Int32Array(0);
  if (available <= 2 * count) {
    const pool: number[] = [];
    for (let i = 0; i < nItems; i++) if (!taken.has(i)) pool.push(i);
    const n = Math.min(count, pool.length);
    // partial Fisher–Yates: the first n positions are a uniform sample
    for (let i = 0; i < n; i++) {
      const j = i + rng.int(pool.length - i);
      const t = pool[i] as number;
      pool[i] = pool[j] as number;
      pool[j] = t;
    }
    return Int32Array.from(pool.slice(0, n));
  }
  const out = new Int32Array(count);
  const chosen = new Set<number>();
  let n = 0;
  while (n < count) {
    const i = rng.int(nItems);
    if (taken.has(i) || chosen.has(i)) continue;
    chosen.add(i);
    out[n++] = i;
  }
  return out;
}

/**
 * Leave the latest interaction of each user out (max timestamp, ties → last in file). With
 * `negatives` > 0 (ncf-loo) it is ranked among that many sampled items the user never interacted
 * with; otherwise (loo-full) against every item not in the user's train set.
 */
function leaveOneOut(source: Dataset, protocol: 'ncf-loo' | 'loo-full', seed: number, negatives: number): Split {
  // Explicit negatives (Last.FM KG's sampled label-0 lines) are not interactions: each user's last
  // line there is a negative, which would otherwise be held out as the "latest interaction".
  const positiveRows = selectInteractions(source, (v) => v > 0);
  const dropped = source.interactions.value.length - positiveRows.length;
  const dataset = dropped > 0 ? subsetInteractions(source, positiveRows) : source;
  const rng = new Rng(seed);
  const { item, timestamp } = dataset.interactions;
  const nUsers = dataset.users.size;
  const nItems = dataset.items.size;
  const byUser = rowsByUser(dataset.interactions, nUsers);
  const inTrain = new Uint8Array(item.length).fill(1);
  const users: number[] = [];
  const relevant: Int32Array[] = [];
  const candidates: Int32Array[] = [];
  let tooFew = 0;
  let repeatsRemoved = 0;
  let shortLists = 0;
  for (let u = 0; u < nUsers; u++) {
    const rows = byUser[u] as Int32Array;
    const interacted = new Set<number>();
    for (const r of rows) interacted.add(item[r] as number);
    // a user with one item would be left with no history at all
    if (interacted.size < 2) {
      if (rows.length > 0) tooFew++;
      continue;
    }
    let latest = rows[0] as number;
    for (const r of rows) if (tsKey(timestamp[r] as number) >= tsKey(timestamp[latest] as number)) latest = r;
    const held = item[latest] as number;
    // every row of the held-out item leaves train, or full ranking would mask the answer
    for (const r of rows) {
      if (item[r] === held) {
        inTrain[r] = 0;
        if (r !== latest) repeatsRemoved++;
      }
    }
    users.push(u);
    relevant.push(Int32Array.of(held));
    if (negatives > 0) {
      const neg = sampleNegatives(rng, nItems, interacted, negatives);
      if (neg.length < negatives) shortLists++;
      const c = new Int32Array(neg.length + 1);
      c[0] = held;
      c.set(neg, 1);
      candidates.push(c);
    }
  }
  const notes: string[] = [];
  if (protocol === 'ncf-loo') {
    notes.push(
      `ncf-loo: per user the latest interaction (max timestamp, ties → last in file) is held out and ranked among ${negatives} items sampled (seed ${seed}) from those the user never interacted with; candidates scoring equal to the held-out item count as ranked ahead of it.`,
    );
    if (dataset.name === 'movielens-1m') {
      notes.push('The NCF authors\' test files were not found beside the data, so negatives were sampled here; numbers are not comparable to the paper\'s.');
    }
    if (shortLists > 0) notes.push(`${shortLists} users had fewer than ${negatives} non-interacted items; their candidate lists are shorter.`);
  } else {
    notes.push('loo-full: per user the latest interaction (max timestamp, ties → last in file) is held out and ranked against every item not in the user\'s train set.');
  }
  if (dropped > 0) notes.push(`${dropped} rows with value ≤ 0 (explicit negatives) were dropped before the split; they are neither train positives nor candidates.`);
  notes.push(`${users.length} test users.`);
  if (tooFew > 0) notes.push(`${tooFew} users with a single distinct item were kept in train and not tested.`);
  if (repeatsRemoved > 0) notes.push(`${repeatsRemoved} earlier repeats of held-out (user, item) pairs were removed from train.`);
  const test: RankingTest = { kind: 'ranking', users: Int32Array.from(users), relevant };
  if (negatives > 0) test.candidates = candidates;
  return { protocol, train: trainSetOf(dataset, rowsWhere(inTrain)), test, notes };
}

/** `<source>/ncf-protocol` when this is ML-1M and the NCF authors' test files are there. */
function ncfProtocolDir(dataset: Dataset): string | undefined {
  if (dataset.name !== 'movielens-1m' || dataset.source === undefined) return undefined;
  const dir = path.join(dataset.source.path, 'ncf-protocol');
  return existsSync(path.join(dir, 'ml-1m.test.rating')) ? dir : undefined;
}

function splitLines(text: string): string[] {
  const lines = text.split('\n');
  if (lines.length > 0 && lines[lines.length - 1] === '') lines.pop();
  return lines.map((l) => (l.endsWith('\r') ? l.slice(0, -1) : l));
}

function parseIntStrict(s: string | undefined, file: string, line: number): number {
  const n = s === undefined ? Number.NaN : Number(s);
  if (!Number.isInteger(n)) {
    throw new TastemakerError('DATA_FORMAT', `${file}:${line}: expected an integer, got ${JSON.stringify(s)}`, { file, line });
  }
  return n;
}

function mismatch(message: string, details: Record<string, unknown>): TastemakerError {
  return new TastemakerError(
    'DATA_FORMAT',
    `NCF test files do not match this ML-1M data: ${message}. The ids are mapped as NCF user = UserID − 1 and NCF item = order of first appearance in ratings.dat; the data set must be read with items indexed in that order.`,
    details,
  );
}

/**
 * ML-1M with the NCF authors' own test files (He et al., WWW 2017), so HR@10/NDCG@10 use exactly
 * their held-out items and sampled negatives.
 *
 * Id mapping: NCF user u = our user "u+1"; NCF item k = our item index k, valid only for
 * k < (number of items in the ratings we read) because our reader indexes items by first appearance
 * in the ratings file, as NCF did. Test users absent from our data (the partial ratings file stops
 * at user 2,999) are skipped.
 *
 * Negatives NCF sampled from items missing in our (partial) data cannot be scored by a model trained
 * here. They stay in the candidate list as UNKNOWN_ITEM (-1) and evaluate() scores each as the mean
 * of the model's scores for that user's known negatives — a neutral stand-in that keeps every list
 * at 100 candidates so HR/NDCG stay on the paper's scale.
 */
async function ncfFilesSplit(dataset: Dataset, dir: string, negativesOption: number): Promise<Split> {
  const ratingFile = path.join(dir, 'ml-1m.test.rating');
  const negativeFile = path.join(dir, 'ml-1m.test.negative');
  if (!existsSync(negativeFile)) {
    throw new TastemakerError('NOT_FOUND', `ncf-loo: ${ratingFile} exists but ${negativeFile} does not`, { file: negativeFile });
  }
  const [ratingText, negativeText] = await Promise.all([readFile(ratingFile, 'utf8'), readFile(negativeFile, 'utf8')]);
  const ratingLines = splitLines(ratingText);
  const negativeLines = splitLines(negativeText);
  if (ratingLines.length !== negativeLines.length) {
    throw new TastemakerError(
      'DATA_FORMAT',
      `ncf-loo: ${ratingFile} has ${ratingLines.length} lines but ${negativeFile} has ${negativeLines.length}`,
      { file: negativeFile },
    );
  }

  const { item, timestamp } = dataset.interactions;
  const nUsers = dataset.users.size;
  // Items that occur in the ratings must be exactly indices 0…nRated-1 for NCF's item ids to apply.
  const rated = new Uint8Array(dataset.items.size);
  let nRated = 0;
  let maxItem = -1;
  for (let r = 0; r < item.length; r++) {
    const i = item[r] as number;
    if (rated[i] === 0) {
      rated[i] = 1;
      nRated++;
    }
    if (i > maxItem) maxItem = i;
  }
  if (maxItem !== nRated - 1) {
    throw mismatch(`the ${nRated} rated items are not indices 0…${nRated - 1} (max index ${maxItem})`, { nRated, maxItem });
  }

  const byUser = rowsByUser(dataset.interactions, nUsers);
  const inTrain = new Uint8Array(item.length).fill(1);
  const users: number[] = [];
  const relevant: Int32Array[] = [];
  const candidates: Int32Array[] = [];
  let skippedUsers = 0;
  let unknownNegatives = 0;
  let totalNegatives = 0;
  let heldOutRepeats = 0;
  let otherRepeats = 0;
  const tested = new Uint8Array(nUsers);

  for (let ln = 0; ln < ratingLines.length; ln++) {
    const line = ln + 1;
    const f = (ratingLines[ln] as string).split('\t');
    const ncfUser = parseIntStrict(f[0], ratingFile, line);
    const ncfItem = parseIntStrict(f[1], ratingFile, line);
    const ts = Number(f[3]);
    const neg = (negativeLines[ln] as string).split('\t');
    const head = /^\((\d+),(\d+)\)$/.exec(neg[0] ?? '');
    if (head === null || Number(head[1]) !== ncfUser || Number(head[2]) !== ncfItem) {
      throw new TastemakerError(
        'DATA_FORMAT',
        `${negativeFile}:${line}: expected "(${ncfUser},${ncfItem})" to match ${path.basename(ratingFile)}, got ${JSON.stringify(neg[0])}`,
        { file: negativeFile, line },
      );
    }

    const u = dataset.users.get(String(ncfUser + 1));
    if (u === undefined) {
      skippedUsers++;
      continue;
    }
    if (tested[u]) throw mismatch(`user ${ncfUser} appears twice in ${path.basename(ratingFile)}`, { file: ratingFile, line });
    if (ncfItem >= nRated) {
      throw mismatch(`held-out item ${ncfItem} of user ${ncfUser} is beyond the ${nRated} items in the data`, { file: ratingFile, line });
    }
    const rows = byUser[u] as Int32Array;
    let heldRow = -1;
    const interacted = new Set<number>();
    for (const r of rows) {
      interacted.add(item[r] as number);
      if (item[r] === ncfItem) heldRow = r;
    }
    if (heldRow < 0) {
      throw mismatch(`user ${ncfUser} (UserID ${ncfUser + 1}) never interacted with item ${ncfItem} (MovieID ${dataset.items.ids[ncfItem] ?? '?'})`, {
        file: ratingFile,
        line,
      });
    }
    const ourTs = timestamp[heldRow] as number;
    if (Number.isFinite(ourTs) && Number.isFinite(ts) && ourTs !== ts) {
      throw mismatch(`user ${ncfUser}, item ${ncfItem}: timestamp ${ts} in the test file but ${ourTs} in the data`, { file: ratingFile, line });
    }
    inTrain[heldRow] = 0;
    tested[u] = 1;

    const c: number[] = [ncfItem];
    // NCF's evaluate.py keys scores by item in a dict, so a repeated id (77 users' negatives
    // repeat their own held-out item) is ranked once; we drop repeats the same way.
    const listed = new Set<number>([ncfItem]);
    for (let j = 1; j < neg.length; j++) {
      const k = parseIntStrict(neg[j], negativeFile, line);
      totalNegatives++;
      if (listed.has(k)) {
        if (k === ncfItem) heldOutRepeats++;
        else otherRepeats++;
        continue;
      }
      listed.add(k);
      if (k < nRated) {
        // with the right id mapping NCF never samples another rated item; if it seems to, the
        // mapping is wrong and every number would be meaningless
        if (interacted.has(k)) {
          throw mismatch(`sampled negative ${k} of user ${ncfUser} is an item the user rated`, { file: negativeFile, line });
        }
        c.push(k);
      } else {
        c.push(UNKNOWN_ITEM);
        unknownNegatives++;
      }
    }
    users.push(u);
    relevant.push(Int32Array.of(ncfItem));
    candidates.push(Int32Array.from(c));
  }

  const notes = [
    'ncf-loo: held-out items and 99 sampled negatives per user from the NCF authors\' ml-1m.test.rating / ml-1m.test.negative (He et al., WWW 2017); train = every other interaction as an implicit 1; candidates scoring equal to the held-out item count as ranked ahead of it.',
    `${users.length} test users${skippedUsers > 0 ? `; ${skippedUsers} users in the test files are absent from this data and were skipped` : ''}.`,
  ];
  if (unknownNegatives > 0) {
    notes.push(
      `${unknownNegatives} of ${totalNegatives} sampled negatives are items absent from this data; each is kept as a candidate and scored as the mean of the model's scores for that user's known negatives.`,
    );
  }
  if (heldOutRepeats > 0) {
    notes.push(
      `${heldOutRepeats} users' negative lists contain their own held-out item; as in NCF's evaluate.py it is ranked once, so those users have 99 candidates.`,
    );
  }
  if (otherRepeats > 0) notes.push(`${otherRepeats} repeated negatives were ranked once.`);
  if (negativesOption !== 99) notes.push(`negatives=${negativesOption} was ignored: the NCF files fix 99 per user.`);
  if (skippedUsers > 0 || unknownNegatives > 0) {
    notes.push('The data is partial, so these numbers are not comparable to published ML-1M results.');
  }
  return {
    protocol: 'ncf-loo',
    train: trainSetOf(dataset, rowsWhere(inTrain)),
    test: { kind: 'ranking', users: Int32Array.from(users), relevant, candidates },
    notes,
  };
}

/**
 * KGCN's CTR protocol: the labelled lines (value 1 = positive, 0 = sampled negative) are split
 * 6:2:2 at random — eval and test get floor(0.2·n) lines each, as in KGCN's data_loader. The train
 * CSR holds train positives only; train negatives stay in the TrainSet's interactions (value 0) for
 * models that learn from them.
 */
function kgcnSplit(dataset: Dataset, seed: number): Split {
  const { value } = dataset.interactions;
  const n = value.length;
  let positives = 0;
  for (let r = 0; r < n; r++) if ((value[r] as number) > 0) positives++;
  if (positives === 0 || positives === n) {
    throw new TastemakerError(
      'INVALID_ARGUMENT',
      `kgcn protocol needs labelled interactions (value 1 for positives, 0 for sampled negatives); ${dataset.name} has ${positives} positives among ${n} rows`,
      { dataset: dataset.name, positives, rows: n },
    );
  }
  const rng = new Rng(seed);
  const order = new Int32Array(n);
  for (let r = 0; r < n; r++) order[r] = r;
  rng.shuffle(order);
  const nEval = Math.floor(0.2 * n);
  const nTest = Math.floor(0.2 * n);
  const part = new Uint8Array(n); // 0 train, 1 eval, 2 test
  for (let j = 0; j < nEval; j++) part[order[j] as number] = 1;
  for (let j = nEval; j < nEval + nTest; j++) part[order[j] as number] = 2;

  const pairsOf = (which: number): PairTest => {
    const rows: number[] = [];
    for (let r = 0; r < n; r++) if (part[r] === which) rows.push(r);
    const t: PairTest = {
      kind: 'pairs',
      user: new Int32Array(rows.length),
      item: new Int32Array(rows.length),
      label: new Uint8Array(rows.length),
    };
    rows.forEach((r, j) => {
      t.user[j] = dataset.interactions.user[r] as number;
      t.item[j] = dataset.interactions.item[r] as number;
      t.label[j] = (value[r] as number) > 0 ? 1 : 0;
    });
    return t;
  };
  const trainMask = new Uint8Array(n);
  for (let r = 0; r < n; r++) if (part[r] === 0) trainMask[r] = 1;
  return {
    protocol: 'kgcn',
    train: trainSetOf(dataset, rowsWhere(trainMask), (v) => v > 0),
    test: pairsOf(2),
    validation: pairsOf(1),
    notes: [
      `kgcn: labelled lines split 6:2:2 at random (seed ${seed}; ${n - nEval - nTest} train, ${nEval} eval, ${nTest} test); the train CSR holds train positives only, train negatives stay in the train interactions with value 0.`,
      'AUC is computed over the whole test set; KGCN\'s code averages AUC and F1 over full mini-batches of 128 (dropping the last partial one), so its numbers differ slightly.',
      'KGCN\'s own split uses numpy\'s RNG (seed 555), so the exact lines differ from the paper\'s.',
    ],
  };
}
