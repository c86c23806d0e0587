/**
 * Two-tower retrieval model (YouTube DNN / TFRS style).
 *
 * User tower: concat(user-id embedding, mean of the user's history item embeddings, user side
 * features) → MLP → L2 norm. Item tower: concat(item-id embedding, item side features) → MLP → L2
 * norm. Score = dot(user vector, item vector) (cosine; the training temperature does not change
 * rankings, so the export leaves it out).
 *
 * Trained with a logQ-corrected sampled softmax (trainer.ts). Embedding tables are
 * engine/EmbeddingTable rows updated by SparseAdam; only the MLPs are tfjs variables.
 */
import * as tf from '@tensorflow/tfjs-core';
import { TastemakerError } from '@tastemaker/core';
import { initBackend } from '../../engine/backend.js';
import { Rng } from '../../engine/rng.js';
import type { TwoTowerExport } from '../../export/types.js';
import { silentProgress, type FitOptions, type ModelFactory, type TrainedModel, type TrainInfo, type TrainSet } from '../types.js';
import { resolveTwoTowerParams } from './params.js';
import { createTowers, disposeTowers, runItemTower, runUserTower, type Towers } from './towers.js';
import { TwoTowerTrainer } from './trainer.js';

export { TWO_TOWER_DEFAULTS, resolveTwoTowerParams, type TwoTowerParams } from './params.js';

/** Users scored per matrix product in scoreBatch (bounds the [users, nItems] intermediate). */
const SCORE_CHUNK = 1024;

class TwoTowerModel implements TrainedModel {
  readonly id = 'two-tower' as const;
  readonly nUsers: number;
  readonly nItems: number;
  readonly info: TrainInfo;
  private readonly towers: Towers;
  private readonly itemVectors: Float32Array;
  private itemMatrix: tf.Tensor2D | undefined;
  private disposed = false;

  constructor(towers: Towers, info: TrainInfo) {
    this.towers = towers;
    this.nUsers = towers.nUsers;
    this.nItems = towers.nItems;
    this.info = info;
    this.itemVectors = runItemTower(towers);
  }

  async embedUsers(users: Int32Array, histories: readonly Int32Array[]): Promise<Float32Array> {
    this.assertLive();
    if (histories.length !== users.length) throw new TastemakerError('INVALID_ARGUMENT', `embedUsers: ${users.length} users but ${histories.length} histories`);
    return runUserTower(this.towers, users, histories);
  }

  async scoreBatch(users: Int32Array, histories: readonly Int32Array[]): Promise<Float32Array> {
    const u = await this.embedUsers(users, histories);
    const dim = this.towers.userMlp.outputDim;
    // stored transposed, [dim, nItems], since transposed products are slow on wasm
    this.itemMatrix ??= tf.tidy(() => tf.transpose(tf.tensor2d(this.itemVectors, [this.nItems, dim])));
    const items = this.itemMatrix;
    const out = new Float32Array(users.length * this.nItems);
    for (let s = 0; s < users.length; s += SCORE_CHUNK) {
      const e = Math.min(users.length, s + SCORE_CHUNK);
      const scores = tf.tidy(() => tf.matMul(tf.tensor2d(u.subarray(s * dim, e * dim), [e - s, dim]), items));
      out.set(scores.dataSync() as Float32Array, s * this.nItems);
      scores.dispose();
    }
    return out;
  }

  exportSpec(): TwoTowerExport {
    this.assertLive();
    const t = this.towers;
    return {
      kind: 'two-tower',
      nUsers: t.nUsers,
      nItems: t.nItems,
      userEmbedding: { dim: t.userTable.dim, values: Float32Array.from(t.userTable.values) },
      historyEmbedding: { dim: t.historyTable.dim, values: Float32Array.from(t.historyTable.values) },
      ...(t.userFeatures ? { userFeatures: { names: [...t.userFeatures.names], values: Float32Array.from(t.userFeatures.values) } } : {}),
      layers: t.userMlp.toExport(),
      l2Normalize: t.params.l2Normalize,
      itemVectors: Float32Array.from(this.itemVectors),
      dim: t.userMlp.outputDim,
    };
  }

  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    this.itemMatrix?.dispose();
    disposeTowers(this.towers);
  }

  private assertLive(): void {
    if (this.disposed) throw new TastemakerError('DISPOSED', 'two-tower model was disposed');
  }
}

async function fit(train: TrainSet, options: FitOptions): Promise<TrainedModel> {
  const p = resolveTwoTowerParams(options);
  const backend = await initBackend(p.backend);
  const log = options.log ?? (() => {});
  const progress = options.progress ?? silentProgress;
  const { dataset, csr } = train;
  const nUsers = Math.max(dataset.users.size, csr.rows);
  const nItems = Math.max(dataset.items.size, csr.cols);
  const rng = new Rng(p.seed);
  const towers = createTowers(dataset, nUsers, nItems, p, rng.fork());
  const trainer = new TwoTowerTrainer(towers, csr);

  progress.start('two-tower', p.epochs * trainer.stepsPerEpoch);
  const t0 = performance.now();
  let step = 0;
  let lastLoss = Number.NaN;
  try {
    for (let epoch = 0; epoch < p.epochs; epoch++) {
      lastLoss = await trainer.epoch(rng.fork(), (loss) => {
        step++;
        progress.update(step, { epoch: epoch + 1, loss: Number(loss.toFixed(4)) });
      });
      log(`two-tower epoch ${epoch + 1}/${p.epochs} loss ${lastLoss.toFixed(4)}`);
      // Let timers and I/O (progress rendering, signals) run between epochs.
      await new Promise<void>((resolve) => setImmediate(resolve));
    }
  } catch (e) {
    disposeTowers(towers);
    throw e;
  } finally {
    progress.stop();
    trainer.dispose();
  }
  const seconds = (performance.now() - t0) / 1000;
  const info: TrainInfo = {
    backend: backend.name,
    epochs: p.epochs,
    samplesPerSecond: (trainer.pairs * p.epochs) / Math.max(seconds, 1e-9),
    params: { ...p, trainSeconds: Number(seconds.toFixed(3)), finalLoss: lastLoss },
  };
  return new TwoTowerModel(towers, info);
}

export const twoTowerModel: ModelFactory = {
  id: 'two-tower',
  description: 'Two-tower retrieval: (user id, history mean, user features) and (item id, item features) MLP towers, logQ-corrected sampled softmax',
  fit,
};
