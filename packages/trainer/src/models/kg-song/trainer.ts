import { TastemakerError } from '@tastemaker/core';
import { csrHas } from '../../data/csr.js';
import { Rng } from '../../engine/rng.js';
import { buildAdjacency } from '../../kg/adjacency.js';
import { knowledgeGraphOf } from '../../kg/item-kg.js';
import { auc } from '../../eval/metrics.js';
import { ArrayAdam } from '../kgcn/array-adam.js';
import { EarlyStopping } from '../pointwise/early-stopping.js';
import type { TrainSet } from '../types.js';
import { MlpWorkspace, gcnBackward, gcnForward, gruBackward, gruRun, initKgSongWeights, parameterPairs, zeroGradients, type EntityGraph, type KgSongWeights } from './network.js';
import type { KgSongParams } from './params.js';
import { StateScorer } from './scorer.js';

/** Per user: training positives in time order (data order when there are no timestamps) and labelled negatives. */
export interface UserItems {
  positives: Int32Array[];
  negatives: Int32Array[];
}

/**
 * A user's positives in the order they happened: the GRU reads a sequence, so the order matters
 * when the data has one. Positive = in the train CSR; a train row outside it (value ≤ 0, the kgcn
 * protocol's sampled negatives) is a labelled negative.
 */
export function userItems(train: TrainSet): UserItems {
  const { csr, dataset } = train;
  const { user, item, timestamp } = dataset.interactions;
  const nUsers = csr.rows;
  const pos: number[][] = Array.from({ length: nUsers }, () => []);
  const neg: number[][] = Array.from({ length: nUsers }, () => []);
  if (user.length === 0) {
    // a TrainSet with only the CSR: item order is all there is
    for (let u = 0; u < nUsers; u++) for (let e = csr.indptr[u]!; e < csr.indptr[u + 1]!; e++) pos[u]!.push(csr.indices[e]!);
  } else {
    const rows = Int32Array.from({ length: user.length }, (_, r) => r);
    const hasTime = timestamp.length === user.length && timestamp.some((t) => Number.isFinite(t));
    // stable: equal (or missing) timestamps keep data order
    const sorted = hasTime ? Array.from(rows).sort((a, b) => (timestamp[a]! || 0) - (timestamp[b]! || 0) || a - b) : Array.from(rows);
    const seen = new Set<number>();
    for (const r of sorted) {
      const u = user[r]!;
      const i = item[r]!;
      const key = u * csr.cols + i;
      if (seen.has(key)) continue;
      seen.add(key);
      (csrHas(csr, u, i) ? pos : neg)[u]!.push(i);
    }
  }
  return { positives: pos.map((p) => Int32Array.from(p)), negatives: neg.map((n) => Int32Array.from(n)) };
}

/** The last `length` items of a history (the most recent ones). */
export function recent(history: Int32Array, length: number): Int32Array {
  return history.length > length ? history.subarray(history.length - length) : history;
}

export function entityGraphOf(train: TrainSet): { graph: EntityGraph; itemEntity: Int32Array } {
  const kg = knowledgeGraphOf(train.dataset);
  if (kg.itemEntity.length !== train.dataset.items.size) {
    throw new TastemakerError('INVALID_ARGUMENT', `kg-song: the knowledge graph maps ${kg.itemEntity.length} items but the data set has ${train.dataset.items.size}.`);
  }
  const adj = buildAdjacency(kg);
  return { graph: { entityCount: adj.entityCount, indptr: adj.indptr, neighbors: adj.neighbors }, itemEntity: kg.itemEntity };
}

export interface KgSongTrainResult {
  weights: KgSongWeights;
  /** every training positive (held-out ones included), the histories the model scores with */
  items: UserItems;
  losses: number[];
  /** with validation: the restored epoch and its AUC */
  bestEpoch?: number | undefined;
  validationAuc?: number | undefined;
}

interface Task {
  history: Int32Array;
  items: number[];
  labels: number[];
}

/**
 * Fits kg-song. Each epoch, a user's positives are dealt into `folds` folds; every fold's
 * positives (and its share of negatives) are scored with the GRU state of the other folds'
 * positives as history. A target is never in its own history, so the model learns to predict
 * unseen items from the rest — what it is asked at test time — and each user's GRU runs once per
 * fold rather than once per pair.
 */
export function trainKgSong(train: TrainSet, params: KgSongParams, seed: number, onEpoch?: (epoch: number, loss: number, validationAuc?: number) => void): KgSongTrainResult {
  const nItems = train.csr.cols;
  const { graph, itemEntity } = entityGraphOf(train);
  const rng = new Rng(seed);
  const w = initKgSongWeights({ nItems, dim: params.dim, hops: params.hops, mlp: params.mlp, graph, itemEntity, gcnLinearOutput: params.gcnOutput === 'linear', residual: params.residual }, rng.fork());
  const g = zeroGradients(w);
  const pairs = parameterPairs(w, g);
  const optimisers = pairs.map(([values]) => new ArrayAdam(values, params.learningRate, params.l2));
  const all = userItems(train);
  const useGiven = params.negatives === 'given';
  if (useGiven && !all.negatives.some((n) => n.length > 0)) {
    throw new TastemakerError('INVALID_CONFIG', 'kg-song negatives=given needs labelled negatives (train rows outside the positives, as the kgcn protocol keeps); this data has none. Use negatives=sampled.', {
      option: 'negatives',
    });
  }
  const { fit: ui, validation } = holdOut(all, train, params.validation, useGiven, rng.fork());
  const stopping =
    validation.user.length > 0
      ? new EarlyStopping({ patience: params.patience, capture: () => pairs.map(([v]) => v.slice()), restore: (saved) => pairs.forEach(([v], k) => v.set(saved[k]!)) })
      : undefined;
  const d = params.dim;
  const mlp = new MlpWorkspace(w);
  const dState = new Float64Array(d);
  const users = Int32Array.from(
    Array.from({ length: train.csr.rows }, (_, u) => u).filter((u) => ui.positives[u]!.length > 0),
  );
  const losses: number[] = [];
  for (let epoch = 0; epoch < params.epochs; epoch++) {
    const epochRng = rng.fork();
    epochRng.shuffle(users);
    let lossSum = 0;
    let count = 0;
    for (let start = 0; start < users.length; start += params.batchSize) {
      const tasks: Task[] = [];
      for (let b = start; b < Math.min(users.length, start + params.batchSize); b++) tasks.push(...userTasks(users[b]!, ui, train, params, useGiven, epochRng));
      let targets = 0;
      for (const t of tasks) targets += t.items.length;
      if (targets === 0) continue;
      const scale = 1 / targets;
      const cache = gcnForward(w);
      const dItems = new Float32Array(nItems * d);
      for (const task of tasks) {
        const tr = gruRun(w, cache.items, task.history);
        dState.fill(0);
        for (let k = 0; k < task.items.length; k++) {
          const i = task.items[k]!;
          const y = task.labels[k]!;
          const logit = mlp.forward(tr.h, cache.items, i * d);
          const p = 1 / (1 + Math.exp(-logit));
          lossSum += Math.max(logit, 0) - logit * y + Math.log1p(Math.exp(-Math.abs(logit)));
          count++;
          mlp.backward((p - y) * scale, g, dState, dItems, i * d);
        }
        gruBackward(w, tr, task.history, dState, g, dItems);
      }
      gcnBackward(w, cache, dItems, g);
      optimisers.forEach((opt, k) => {
        const grad = pairs[k]![1];
        opt.step(grad);
        grad.fill(0);
      });
    }
    const loss = count > 0 ? lossSum / count : 0;
    losses.push(loss);
    const validationAuc = stopping ? validationScore(w, ui, validation, params.historyLength) : undefined;
    onEpoch?.(epoch + 1, loss, validationAuc);
    if (stopping && validationAuc !== undefined && stopping.observe(epoch + 1, validationAuc) === 'stop') break;
  }
  stopping?.restoreBest();
  return { weights: w, items: all, losses, bestEpoch: stopping?.bestEpoch, validationAuc: stopping?.bestValue };
}

interface ValidationPairs {
  user: Int32Array;
  item: Int32Array;
  label: Uint8Array;
}

/**
 * Holds out `fraction` of each user's positives (never the last one left) and as many negatives
 * (a share of the labelled ones, or fixed uniform draws) for early stopping; training then neither
 * scores them nor puts them in histories.
 */
function holdOut(all: UserItems, train: TrainSet, fraction: number, useGiven: boolean, rng: Rng): { fit: UserItems; validation: ValidationPairs } {
  const user: number[] = [];
  const item: number[] = [];
  const label: number[] = [];
  if (fraction <= 0) return { fit: all, validation: { user: new Int32Array(0), item: new Int32Array(0), label: new Uint8Array(0) } };
  const nItems = train.csr.cols;
  const positives: Int32Array[] = [];
  const negatives: Int32Array[] = [];
  all.positives.forEach((pos, u) => {
    const keep: number[] = [];
    let held = 0;
    for (const i of pos) {
      if (keep.length + (pos.length - keep.length - held) > 1 && rng.next() < fraction) {
        user.push(u);
        item.push(i);
        label.push(1);
        held++;
      } else keep.push(i);
    }
    positives.push(Int32Array.from(keep));
    const negKeep: number[] = [];
    if (useGiven) {
      for (const i of all.negatives[u]!) {
        if (rng.next() < fraction) {
          user.push(u);
          item.push(i);
          label.push(0);
        } else negKeep.push(i);
      }
    } else if (pos.length < nItems) {
      for (let k = 0; k < held; k++) {
        let j = rng.int(nItems);
        for (let tries = 0; tries < 64 && csrHas(train.csr, u, j); tries++) j = rng.int(nItems);
        if (csrHas(train.csr, u, j)) continue;
        user.push(u);
        item.push(j);
        label.push(0);
      }
    }
    negatives.push(Int32Array.from(negKeep));
  });
  return { fit: { positives, negatives }, validation: { user: Int32Array.from(user), item: Int32Array.from(item), label: Uint8Array.from(label) } };
}

/** AUC of the held-out pairs, each user's state from their training positives. */
function validationScore(w: KgSongWeights, ui: UserItems, v: ValidationPairs, historyLength: number): number {
  const items = gcnForward(w).items;
  const scores = new Float64Array(v.user.length);
  let scorer: StateScorer | undefined;
  let current = -1;
  for (let k = 0; k < v.user.length; k++) {
    const u = v.user[k]!;
    if (u !== current || !scorer) {
      scorer = new StateScorer(w, gruRun(w, items, recent(ui.positives[u]!, historyLength)).h);
      current = u;
    }
    scores[k] = scorer.score(items, v.item[k]! * w.dim);
  }
  return auc(scores, v.label);
}

/** One user's folds for one epoch. */
function userTasks(u: number, ui: UserItems, train: TrainSet, params: KgSongParams, useGiven: boolean, rng: Rng): Task[] {
  const pos = ui.positives[u]!;
  const folds = Math.min(params.folds, pos.length);
  // a random deal that keeps the folds' sizes within one of each other
  const order = rng.shuffle(Int32Array.from({ length: pos.length }, (_, k) => k));
  const foldOf = new Int32Array(pos.length);
  order.forEach((k, j) => {
    foldOf[k] = j % folds;
  });
  const tasks: Task[] = Array.from({ length: folds }, () => ({ history: new Int32Array(0), items: [], labels: [] }));
  for (let k = 0; k < pos.length; k++) {
    const t = tasks[foldOf[k]!]!;
    t.items.push(pos[k]!);
    t.labels.push(1);
  }
  if (useGiven) {
    for (const i of ui.negatives[u]!) {
      const t = tasks[rng.int(folds)]!;
      t.items.push(i);
      t.labels.push(0);
    }
  } else {
    const nItems = train.csr.cols;
    if (pos.length < nItems) {
      for (let k = 0; k < pos.length; k++) {
        let j = rng.int(nItems);
        for (let tries = 0; tries < 64 && csrHas(train.csr, u, j); tries++) j = rng.int(nItems);
        if (csrHas(train.csr, u, j)) continue;
        const t = tasks[foldOf[k]!]!;
        t.items.push(j);
        t.labels.push(0);
      }
    }
  }
  tasks.forEach((t, f) => {
    const rest: number[] = [];
    for (let k = 0; k < pos.length; k++) if (foldOf[k] !== f) rest.push(pos[k]!);
    t.history = recent(Int32Array.from(rest), params.historyLength);
  });
  return tasks;
}
