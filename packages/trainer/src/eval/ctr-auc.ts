/**
 * The `ctr-auc` protocol: explicit ratings as labelled CTR examples. Every rating is an example,
 * positive when rating ≥ 4 (the usual MovieLens binarisation), negative otherwise; each user's
 * ratings are split 80/20 at random (seeded) so that every user is in both train and test — a
 * user-level split in the sense that every user's examples are divided, not that users are held
 * out. Models train on the labelled train part (its explicit negatives, no sampled ones) and are
 * scored by AUC and log loss over all test pairs.
 */
import { TastemakerError } from '@tastemaker/core';
import type { Dataset } from '../data/dataset.js';
import { Rng } from '../engine/rng.js';
import type { PairTest, Split } from './protocols.js';
import { rowsByUser, rowsWhere, trainSetOf } from './train-set.js';

/** Rating at or above which an example is positive. */
export const CTR_POSITIVE_RATING = 4;
/** Share of each user's ratings held out for testing. */
export const CTR_TEST_FRACTION = 0.2;

export function ctrAucSplit(dataset: Dataset, seed: number): Split {
  const { user, item, value } = dataset.interactions;
  const n = value.length;
  let positives = 0;
  for (let r = 0; r < n; r++) if ((value[r] as number) >= CTR_POSITIVE_RATING) positives++;
  if (positives === 0 || positives === n) {
    throw new TastemakerError(
      'INVALID_ARGUMENT',
      `ctr-auc needs explicit ratings with both liked (≥ ${CTR_POSITIVE_RATING}) and not-liked values; ${dataset.name} has ${positives} of ${n} interactions at or above ${CTR_POSITIVE_RATING}.`,
      { dataset: dataset.name, positives, rows: n },
    );
  }
  const rng = new Rng(seed);
  const nUsers = dataset.users.size;
  const byUser = rowsByUser(dataset.interactions, nUsers);
  const inTrain = new Uint8Array(n);
  let testUsers = 0;
  let trainOnly = 0;
  for (let u = 0; u < nUsers; u++) {
    const rows = Array.from(byUser[u] as Int32Array);
    if (rows.length === 0) continue;
    rng.shuffle(rows);
    // at most n − 1 held out, so every user keeps a training example
    const nTest = Math.min(rows.length - 1, Math.round(CTR_TEST_FRACTION * rows.length));
    for (let j = nTest; j < rows.length; j++) inTrain[rows[j] as number] = 1;
    if (nTest > 0) testUsers++;
    else trainOnly++;
  }
  const testRows: number[] = [];
  for (let r = 0; r < n; r++) if (!inTrain[r]) testRows.push(r);
  const test: PairTest = {
    kind: 'pairs',
    user: Int32Array.from(testRows, (r) => user[r] as number),
    item: Int32Array.from(testRows, (r) => item[r] as number),
    label: Uint8Array.from(testRows, (r) => ((value[r] as number) >= CTR_POSITIVE_RATING ? 1 : 0)),
  };
  const trainRows = rowsWhere(inTrain);
  const notes = [
    `ctr-auc: every rating is a labelled example, positive when rating ≥ ${CTR_POSITIVE_RATING}; per user, round(${CTR_TEST_FRACTION}·n) of their n ratings (seeded shuffle, seed ${seed}) are test, the rest train, so every user is in both.`,
    `${trainRows.length} train and ${testRows.length} test examples over ${testUsers} users; ${((100 * positives) / n).toFixed(1)} % positive overall. The train CSR holds train positives; train negatives stay in the train interactions.`,
    'Metrics: AUC and log loss over all test pairs (scores that are logits are passed through a sigmoid for log loss and F1).',
  ];
  if (trainOnly > 0) notes.push(`${trainOnly} users with a single rating are in train only.`);
  return {
    protocol: 'ctr-auc',
    train: trainSetOf(dataset, trainRows, (v) => v >= CTR_POSITIVE_RATING),
    test,
    notes,
  };
}
