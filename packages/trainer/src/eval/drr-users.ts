import { TastemakerError } from '@tastemaker/core';
import type { Dataset } from '../data/dataset.js';
import type { TrainSet } from '../models/types.js';
import { STATE_PADDING } from '../rl/env.js';
import type { RankingTest, Split } from './protocols.js';
import { rowsByUser, rowsWhere, trainSetOf } from './train-set.js';

/**
 * The user-id split of the DRR re-implementation on MovieLens (backgom2357/Recommender_system_via_deep_RL,
 * evaluation.ipynb), made leak-free:
 *
 * - Users are ordered by numeric id (index order when ids are not numbers); the first
 *   floor(0.8 · users) train, the rest are held out. Full ML-1M: 1–4832 / 4833–6040 (the
 *   re-implementation's cut); the partial ML-1M file: 1–2399 / 2400–2999; ML-100K: 1–754 / 755–943.
 * - A held-out user's ratings are ordered by time (ties in file order). Their state is their first
 *   `stateSize` (10) positive items (rating ≥ 4). Every rating up to and including the one that
 *   completes the state goes to the train part — this is what a deployed model would know about the
 *   user at that moment, so MF-style models fold the user in from it and DRR reads its state from
 *   it; the positives after it are the relevant items. Held-out users with no positive after the
 *   state are not tested.
 * - One top-k list per held-out user, ranking every item except the state items; a hit is an item
 *   the user rated ≥ 4 later.
 *
 * Where it departs from the re-implementation: there the state is the first 10 *rated* items (any
 * rating) and the user embedding was pre-trained on every rating of every user, the held-out users'
 * future included; here nothing after the state is seen in training. Its NDCG divides by the DCG of
 * k hits; `ndcg@k` here divides by min(|relevant|, k) hits (equal for users with ≥ k relevant items).
 */

export const DRR_USERS_DEFAULTS = { stateSize: 10, positiveThreshold: 4, trainFraction: 0.8 } as const;

/** Cut-offs the protocol reports in addition to `--k`: P@5, P@10, NDCG@5, NDCG@10. */
export const DRR_USERS_CUTOFFS = [5, 10] as const;

export interface DrrUsersOptions {
  stateSize?: number;
  positiveThreshold?: number;
  trainFraction?: number;
}

/** Users in split order: by numeric external id when every id is a number, otherwise by index. */
function usersInIdOrder(dataset: Dataset): Int32Array {
  const n = dataset.users.size;
  const order = Int32Array.from({ length: n }, (_, u) => u);
  const numeric = dataset.users.ids.map(Number);
  if (numeric.every((x) => Number.isFinite(x))) order.sort((a, b) => numeric[a]! - numeric[b]! || a - b);
  return order;
}

/** The user-id cut both drr-users variants share, and each user's rows ordered by time (ties in file order). */
function userCut(dataset: Dataset, stateSize: number, fraction: number): { nTrain: number; order: Int32Array; byUser: Int32Array[]; timelineOf(u: number): number[] } {
  if (!Number.isInteger(stateSize) || stateSize < 1) throw new TastemakerError('INVALID_ARGUMENT', `drr-users: stateSize must be a positive integer, got ${stateSize}`);
  if (!(fraction > 0 && fraction < 1)) throw new TastemakerError('INVALID_ARGUMENT', `drr-users: trainFraction must be in (0, 1), got ${fraction}`);
  const { timestamp } = dataset.interactions;
  const nUsers = dataset.users.size;
  const order = usersInIdOrder(dataset);
  const nTrain = Math.floor(fraction * nUsers);
  if (nTrain === 0 || nTrain === nUsers) throw new TastemakerError('INVALID_ARGUMENT', `drr-users: ${nUsers} users are too few to split`, { users: nUsers });
  const byUser = rowsByUser(dataset.interactions, nUsers);
  const key = (r: number): number => (Number.isNaN(timestamp[r]!) ? -Infinity : timestamp[r]!);
  return { nTrain, order, byUser, timelineOf: (u) => Array.from(byUser[u]!).sort((a, b) => key(a) - key(b) || a - b) };
}

export function drrUsersSplit(dataset: Dataset, options: DrrUsersOptions = {}): Split {
  const stateSize = options.stateSize ?? DRR_USERS_DEFAULTS.stateSize;
  const threshold = options.positiveThreshold ?? DRR_USERS_DEFAULTS.positiveThreshold;
  const { nTrain, order, byUser, timelineOf } = userCut(dataset, stateSize, options.trainFraction ?? DRR_USERS_DEFAULTS.trainFraction);
  const { value, item } = dataset.interactions;
  const nUsers = dataset.users.size;
  const inTrain = new Uint8Array(value.length);
  const users: number[] = [];
  const relevant: Int32Array[] = [];
  let short = 0;
  for (let rank = 0; rank < nUsers; rank++) {
    const u = order[rank]!;
    if (rank < nTrain) {
      for (const r of byUser[u]!) inTrain[r] = 1;
      continue;
    }
    const timeline = timelineOf(u);
    let seen = 0;
    let cut = -1;
    for (let j = 0; j < timeline.length; j++) {
      if (value[timeline[j]!]! >= threshold && ++seen === stateSize) {
        cut = j;
        break;
      }
    }
    const state = new Set<number>();
    for (let j = 0; j <= cut; j++) if (value[timeline[j]!]! >= threshold) state.add(item[timeline[j]!]!);
    const later = new Set<number>();
    if (cut >= 0) for (let j = cut + 1; j < timeline.length; j++) if (value[timeline[j]!]! >= threshold && !state.has(item[timeline[j]!]!)) later.add(item[timeline[j]!]!);
    if (later.size === 0) {
      short++;
      continue;
    }
    for (let j = 0; j <= cut; j++) inTrain[timeline[j]!] = 1;
    users.push(u);
    relevant.push(Int32Array.from(later).sort());
  }
  const firstTest = dataset.users.ids[order[nTrain]!];
  const lastTest = dataset.users.ids[order[nUsers - 1]!];
  const notes = [
    `drr-users: users ordered by id; the first ${nTrain} (of ${nUsers}) train, users ${firstTest}…${lastTest} are held out.`,
    `Each held-out user's state is their first ${stateSize} items rated ≥ ${threshold} (by time); their ratings up to that point are in the train part, the later items rated ≥ ${threshold} are relevant; every item but the state is ranked.`,
    `${users.length} held-out users tested${short > 0 ? `; ${short} with no rating ≥ ${threshold} after their first ${stateSize} positives were not` : ''}.`,
  ];
  if (dataset.name === 'movielens-1m' && nUsers < 6040) notes.push('ML-1M ratings are partial here, so these numbers are not comparable to published full ML-1M results.');
  const test: RankingTest = { kind: 'ranking', users: Int32Array.from(users), relevant };
  return {
    protocol: 'drr-users',
    train: trainSetOf(dataset, rowsWhere(inTrain), (v) => v >= threshold),
    test,
    reportK: [...DRR_USERS_CUTOFFS],
    notes,
  };
}

/**
 * The re-implementation's evaluation as it ran, leak included, to compare with its published numbers
 * like for like (bench/drr-reference.ts; not a protocol to select models with):
 *
 * - the same user-id cut as `drr-users`;
 * - a held-out user's state is their first `stateSize` *rated* items by time (any rating), and the
 *   relevant items are their later items rated ≥ 4 (users with none are not tested);
 * - `full` is a TrainSet of every rating of every user, held-out futures included: what the
 *   re-implementation pre-trained its user and item embeddings on. Its RL episodes ran on the train
 *   users only, as they do on `drrUsersSplit`'s train part (its held-out users have no positive past
 *   their state, so the rating environment starts no episode for them);
 * - every item but the state is a candidate (`test.candidates`), since under the leak the relevant
 *   items are training items of the user and would otherwise be excluded from the ranking.
 */
export interface DrrUsersReference {
  full: TrainSet;
  test: RankingTest & { candidates: Int32Array[] };
  /** each test user's state, oldest first ([users.length, stateSize]) */
  states: Int32Array;
  stateSize: number;
  notes: string[];
}

export function drrUsersReference(dataset: Dataset, options: DrrUsersOptions = {}): DrrUsersReference {
  const stateSize = options.stateSize ?? DRR_USERS_DEFAULTS.stateSize;
  const threshold = options.positiveThreshold ?? DRR_USERS_DEFAULTS.positiveThreshold;
  const { nTrain, order, timelineOf } = userCut(dataset, stateSize, options.trainFraction ?? DRR_USERS_DEFAULTS.trainFraction);
  const { value, item } = dataset.interactions;
  const nUsers = dataset.users.size;
  const nItems = dataset.items.size;
  const users: number[] = [];
  const relevant: Int32Array[] = [];
  const candidates: Int32Array[] = [];
  const states: number[] = [];
  let short = 0;
  for (let rank = nTrain; rank < nUsers; rank++) {
    const u = order[rank]!;
    const timeline = timelineOf(u);
    // a Set keeps first occurrences in insertion order: the state's distinct items, oldest first
    const state = new Set(timeline.slice(0, stateSize).map((r) => item[r]!));
    const later = new Set<number>();
    for (const r of timeline.slice(stateSize)) if (value[r]! >= threshold && !state.has(item[r]!)) later.add(item[r]!);
    if (later.size === 0) {
      short++;
      continue;
    }
    users.push(u);
    relevant.push(Int32Array.from(later).sort());
    const open = new Int32Array(nItems - state.size);
    for (let i = 0, j = 0; i < nItems; i++) if (!state.has(i)) open[j++] = i;
    candidates.push(open);
    for (let j = state.size; j < stateSize; j++) states.push(STATE_PADDING);
    states.push(...state);
  }
  return {
    full: trainSetOf(dataset, Int32Array.from({ length: value.length }, (_, r) => r), (v) => v >= threshold),
    test: { kind: 'ranking', users: Int32Array.from(users), relevant, candidates },
    states: Int32Array.from(states),
    stateSize,
    notes: [
      `drr-users (reference, leak included): users ${dataset.users.ids[order[nTrain]!]}…${dataset.users.ids[order[nUsers - 1]!]} held out; state = first ${stateSize} rated items; embeddings may train on every rating.`,
      `${users.length} held-out users tested${short > 0 ? `; ${short} with no rating ≥ ${threshold} after their state were not` : ''}.`,
    ],
  };
}
