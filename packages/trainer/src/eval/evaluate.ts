import { TastemakerError } from '@tastemaker/core';
import { csrRow } from '../data/csr.js';
import type { Csr } from '../data/dataset.js';
import type { ProgressSink, TrainedModel } from '../models/types.js';
import { auc, f1AtThreshold, hitRateAtK, mapAtK, mrrAtK, ndcgAtK, precisionAtK, recallAtK, topK } from './metrics.js';
import type { PairTest, RankingTest, Split } from './protocols.js';
import { UNKNOWN_ITEM } from './protocols.js';
import { logLoss } from './ctr-metrics.js';

export interface EvaluateOptions {
  /** cut-off for the ranking metrics (default 10); metric keys carry it, e.g. `ndcg@10` */
  k?: number;
  /** users scored per model.scoreBatch call (default 256) */
  batchSize?: number;
  progress?: ProgressSink;
}

/**
 * Scores the split's test part with a trained model.
 * Ranking tests → `ndcg@k`, `hr@k`, `precision@k`, `recall@k`, `map@k`, `mrr@k` (means over test
 * users) and `coverage` (distinct items in anyone's top k / catalogue size).
 * Pair tests → `auc`, `f1` (at 0.5) and `logloss` over the whole test set.
 */
export async function evaluate(model: TrainedModel, split: Split, options: EvaluateOptions = {}): Promise<Record<string, number>> {
  const k = options.k ?? 10;
  const batchSize = options.batchSize ?? 256;
  if (!Number.isInteger(k) || k < 1) throw new TastemakerError('INVALID_ARGUMENT', `evaluate: k must be a positive integer, got ${String(k)}`, { k });
  if (!Number.isInteger(batchSize) || batchSize < 1) {
    throw new TastemakerError('INVALID_ARGUMENT', `evaluate: batchSize must be a positive integer, got ${String(batchSize)}`, { batchSize });
  }
  const csr = split.train.csr;
  if (model.nItems !== csr.cols) {
    throw new TastemakerError('INVALID_ARGUMENT', `evaluate: the model scores ${model.nItems} items but the split has ${csr.cols}`, {
      modelItems: model.nItems,
      splitItems: csr.cols,
    });
  }
  if (split.test.kind === 'pairs') return evaluatePairs(model, csr, split.test, batchSize, options.progress);
  const metrics = await evaluateRanking(model, csr, split.test, k, batchSize, options.progress);
  // the protocol's own cut-offs (drr-users reports @5 and @10); coverage stays the one at k
  for (const extra of split.reportK ?? []) {
    if (extra === k) continue;
    const more = await evaluateRanking(model, csr, split.test, extra, batchSize, options.progress);
    for (const [key, v] of Object.entries(more)) if (key !== 'coverage') metrics[key] = v;
  }
  return metrics;
}

/** Calls scoreBatch for `users` and checks the shape, so a wrong model fails loudly, not silently. */
async function scoreUsers(model: TrainedModel, csr: Csr, users: Int32Array): Promise<Float32Array> {
  const histories = Array.from(users, (u) => (u >= 0 && u < csr.rows ? csrRow(csr, u) : new Int32Array(0)));
  const scores = await model.scoreBatch(users, histories);
  if (scores.length !== users.length * model.nItems) {
    throw new TastemakerError(
      'INTERNAL',
      `${model.id}.scoreBatch returned ${scores.length} scores for ${users.length} users × ${model.nItems} items`,
      { model: model.id },
    );
  }
  return scores;
}

async function evaluateRanking(
  model: TrainedModel,
  csr: Csr,
  test: RankingTest,
  k: number,
  batchSize: number,
  progress: ProgressSink | undefined,
): Promise<Record<string, number>> {
  const nItems = model.nItems;
  const nUsers = test.users.length;
  const sums = { ndcg: 0, hr: 0, precision: 0, recall: 0, map: 0, mrr: 0 };
  let counted = 0;
  const recommended = new Uint8Array(nItems);
  let distinct = 0;
  // reused across users: excluded train items, and the items that lose ties (the relevant ones)
  const trainMask = new Uint8Array(nItems);
  const relevantMask = new Uint8Array(nItems);

  progress?.start('evaluate', nUsers);
  try {
    for (let start = 0; start < nUsers; start += batchSize) {
      const batch = test.users.subarray(start, Math.min(nUsers, start + batchSize));
      const scores = await scoreUsers(model, csr, batch);
      for (let b = 0; b < batch.length; b++) {
        const t = start + b;
        const u = batch[b] as number;
        const row = scores.subarray(b * nItems, (b + 1) * nItems);
        const rel = test.relevant[t] ?? new Int32Array(0);
        if (rel.length === 0) continue;
        const relevant = new Set<number>(rel);
        const candidates = test.candidates?.[t];
        let ranked: Int32Array;
        if (candidates === undefined) {
          const hist = u >= 0 && u < csr.rows ? csrRow(csr, u) : new Int32Array(0);
          for (const i of hist) trainMask[i] = 1;
          for (const i of rel) relevantMask[i] = 1;
          ranked = topK(row, k, trainMask, relevantMask);
          for (const i of hist) trainMask[i] = 0;
          for (const i of rel) relevantMask[i] = 0;
        } else {
          ranked = rankCandidates(row, candidates, relevant, k);
        }
        sums.ndcg += ndcgAtK(ranked, relevant, k);
        sums.hr += hitRateAtK(ranked, relevant, k);
        sums.precision += precisionAtK(ranked, relevant, k);
        sums.recall += recallAtK(ranked, relevant, k);
        sums.map += mapAtK(ranked, relevant, k);
        sums.mrr += mrrAtK(ranked, relevant, k);
        counted++;
        for (const i of ranked) {
          if (i >= 0 && recommended[i] === 0) {
            recommended[i] = 1;
            distinct++;
          }
        }
      }
      progress?.update(Math.min(nUsers, start + batchSize));
    }
  } finally {
    progress?.stop();
  }
  const mean = (s: number): number => (counted === 0 ? Number.NaN : s / counted);
  return {
    [`ndcg@${k}`]: mean(sums.ndcg),
    [`hr@${k}`]: mean(sums.hr),
    [`precision@${k}`]: mean(sums.precision),
    [`recall@${k}`]: mean(sums.recall),
    [`map@${k}`]: mean(sums.map),
    [`mrr@${k}`]: mean(sums.mrr),
    coverage: nItems === 0 ? 0 : distinct / nItems,
  };
}

/**
 * Top k of a closed candidate list, as item ids (UNKNOWN_ITEM for placeholders). Relevant items
 * lose ties, so a negative scoring the same as the held-out item counts as ranked ahead of it.
 * UNKNOWN_ITEM candidates (sampled items absent from our data, see ncf-loo) get the mean score of
 * the user's known non-relevant candidates: the model has no opinion on them, and the mean keeps
 * them from systematically helping or hurting the held-out item.
 */
function rankCandidates(row: Float32Array, candidates: Int32Array, relevant: ReadonlySet<number>, k: number): Int32Array {
  const c = candidates.length;
  const candScores = new Float64Array(c);
  const losesTies = new Uint8Array(c);
  let knownSum = 0;
  let knownCount = 0;
  for (let j = 0; j < c; j++) {
    const item = candidates[j] as number;
    if (item === UNKNOWN_ITEM) continue;
    const s = row[item] as number;
    candScores[j] = s;
    if (relevant.has(item)) losesTies[j] = 1;
    else if (!Number.isNaN(s)) {
      knownSum += s;
      knownCount++;
    }
  }
  const unknownScore = knownCount > 0 ? knownSum / knownCount : Number.NaN;
  for (let j = 0; j < c; j++) if (candidates[j] === UNKNOWN_ITEM) candScores[j] = unknownScore;
  const positions = topK(candScores, k, undefined, losesTies);
  return positions.map((p) => candidates[p] as number);
}

function sigmoid(x: number): number {
  return 1 / (1 + Math.exp(-x));
}

/**
 * AUC and F1@0.5 over every test pair at once. KGCN's code instead averages both over full
 * mini-batches of 128 and drops the last partial batch; the whole-set value is the better-defined
 * statistic and differs from that only by noise. Scores are passed through a sigmoid when any lies
 * outside [0, 1] (i.e. the model outputs logits), since the 0.5 threshold is on probabilities.
 */
async function evaluatePairs(
  model: TrainedModel,
  csr: Csr,
  test: PairTest,
  batchSize: number,
  progress: ProgressSink | undefined,
): Promise<Record<string, number>> {
  const n = test.user.length;
  const nItems = model.nItems;
  // group pairs by user so each user is scored once
  const pairsOfUser = new Map<number, number[]>();
  for (let j = 0; j < n; j++) {
    const u = test.user[j] as number;
    const list = pairsOfUser.get(u);
    if (list) list.push(j);
    else pairsOfUser.set(u, [j]);
  }
  const users = Int32Array.from(pairsOfUser.keys());
  const pairScores = new Float64Array(n);
  progress?.start('evaluate', users.length);
  try {
    for (let start = 0; start < users.length; start += batchSize) {
      const batch = users.subarray(start, Math.min(users.length, start + batchSize));
      const scores = await scoreUsers(model, csr, batch);
      for (let b = 0; b < batch.length; b++) {
        for (const j of pairsOfUser.get(batch[b] as number) ?? []) {
          const s = scores[b * nItems + (test.item[j] as number)] as number;
          pairScores[j] = Number.isNaN(s) ? -Infinity : s;
        }
      }
      progress?.update(Math.min(users.length, start + batchSize));
    }
  } finally {
    progress?.stop();
  }
  // AUC only depends on the order, and on raw scores a saturating sigmoid cannot create ties
  const aucValue = auc(pairScores, test.label);
  let logits = false;
  for (let j = 0; j < n; j++) {
    const s = pairScores[j] as number;
    if (s < 0 || s > 1) {
      logits = true;
      break;
    }
  }
  const probabilities = logits ? pairScores.map(sigmoid) : pairScores;
  return { auc: aucValue, f1: f1AtThreshold(probabilities, test.label, 0.5), logloss: logLoss(probabilities, test.label) };
}
