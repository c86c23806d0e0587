/**
 * Mult-VAE (Liang, Krishnan, Hoffman, Jebara, "Variational Autoencoders for Collaborative
 * Filtering", WWW 2018): a user's 0/1 history row, L2-normalised and dropped out, goes
 * through an encoder [nItems → 600 tanh → (mu, logvar) 200]; z = mu + ε·σ; a decoder
 * [200 → 600 tanh → nItems] gives logits whose log-softmax scores the row (multinomial
 * likelihood). Loss = −log-likelihood + β·KL, β annealed linearly from 0 to `beta`; Adam.
 * Serving and evaluation rank by the decoder's logits at mu (no sampling). The defaults
 * (params.ts) regularise harder than the paper's dropout 0.5 / β 0.2, measured on ML-100K.
 *
 * Early stopping: a share of users lose a quarter of their training items to a validation set
 * (holdout.ts); after each epoch those users are scored from their remaining items, ndcg@10 on the
 * held-out ones is tracked (pointwise/early-stopping.ts) and the best epoch's weights come back.
 */
import * as tf from '@tensorflow/tfjs-core';
import { TastemakerError } from '@tastemaker/core';
import { initBackend } from '../../engine/backend.js';
import { DenseAdam, gradientStep } from '../../engine/dense.js';
import { Rng } from '../../engine/rng.js';
import type { UserGraphExport } from '../../export/types.js';
import { ndcgAtK, topK } from '../../eval/metrics.js';
import { EarlyStopping } from '../pointwise/early-stopping.js';
import { silentProgress, type FitOptions, type ModelFactory, type TrainedModel, type TrainInfo, type TrainSet } from '../types.js';
import { checkScoreBatch } from '../validation.js';
import { distinctHistory, vaeCfExport } from './export.js';
import { distinctRows, holdOutUsers, type VaeHoldout } from './holdout.js';
import { VaeCfNetwork } from './network.js';
import { resolveVaeCfParams, type VaeCfParams } from './params.js';

export { VAE_CF_DEFAULTS, resolveVaeCfParams, type VaeCfParams } from './params.js';
export { referenceVaeScores } from './export.js';
export type { VaeCfWeights } from './network.js';

/** Users per forward pass when scoring (bounds the [users, nItems] input and output). */
const SCORE_CHUNK = 256;
/** Cut-off of the validation metric. */
const VALIDATION_K = 10;

/**
 * Rows [batch, nItems] of L2-normalised 0/1 histories: 1/√c on each of a row's c distinct items.
 * With `keep` < 1 (training), each entry survives with probability `keep` and is scaled by 1/keep
 * (inverted dropout, as tf.nn.dropout does in the authors' code); `counts` gets the raw 0/1 row.
 */
function inputRows(rows: readonly ArrayLike<number>[], nItems: number, keep = 1, rng?: Rng): { input: Float32Array; counts: Float32Array } {
  const input = new Float32Array(rows.length * nItems);
  const counts = new Float32Array(rows.length * nItems);
  rows.forEach((row, b) => {
    const base = b * nItems;
    const v = 1 / Math.sqrt(Math.max(row.length, 1));
    for (let k = 0; k < row.length; k++) {
      const i = row[k] as number;
      counts[base + i] = 1;
      if (keep >= 1 || rng === undefined) input[base + i] = v;
      else if (rng.next() < keep) input[base + i] = v / keep;
    }
  });
  return { input, counts };
}

/** Logits [rows.length, nItems] at mu for distinct 0/1 rows. */
function scoreRows(net: VaeCfNetwork, rows: readonly ArrayLike<number>[]): Float32Array {
  const n = net.nItems;
  const out = new Float32Array(rows.length * n);
  for (let s = 0; s < rows.length; s += SCORE_CHUNK) {
    const chunk = rows.slice(s, s + SCORE_CHUNK);
    const { input } = inputRows(chunk, n);
    const scores = tf.tidy(() => net.scores(tf.tensor2d(input, [chunk.length, n])));
    out.set(scores.dataSync() as Float32Array, s * n);
    scores.dispose();
  }
  return out;
}

/** Mean ndcg@10 of the validation users scored from their remaining items. */
function validationNdcg(net: VaeCfNetwork, holdout: VaeHoldout): number {
  const n = net.nItems;
  const inputs = Array.from(holdout.users, (u) => holdout.train[u] as Int32Array);
  const scores = scoreRows(net, inputs);
  const exclude = new Uint8Array(n);
  let sum = 0;
  inputs.forEach((seen, b) => {
    for (const i of seen) exclude[i] = 1;
    const ranked = topK(scores.subarray(b * n, (b + 1) * n), VALIDATION_K, exclude);
    sum += ndcgAtK(ranked, new Set(holdout.heldOut[b]), VALIDATION_K);
    for (const i of seen) exclude[i] = 0;
  });
  return inputs.length > 0 ? sum / inputs.length : Number.NaN;
}

class VaeCfModel implements TrainedModel {
  readonly id = 'vae-cf' as const;
  readonly nUsers: number;
  readonly nItems: number;
  readonly info: TrainInfo;
  private readonly net: VaeCfNetwork;
  private disposed = false;

  constructor(net: VaeCfNetwork, nUsers: number, info: TrainInfo) {
    this.net = net;
    this.nUsers = nUsers;
    this.nItems = net.nItems;
    this.info = info;
  }

  /** The user index is not read: Mult-VAE encodes the history, for known and unknown users alike. */
  async scoreBatch(users: Int32Array, histories: readonly Int32Array[]): Promise<Float32Array> {
    this.assertLive();
    checkScoreBatch('vae-cf', users, histories, this.nUsers, this.nItems);
    return scoreRows(this.net, histories.map((h) => distinctHistory(h, this.nItems)));
  }

  exportSpec(): UserGraphExport {
    this.assertLive();
    return vaeCfExport(this.net.weights(), this.nUsers);
  }

  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    this.net.dispose();
  }

  private assertLive(): void {
    if (this.disposed) throw new TastemakerError('DISPOSED', 'vae-cf model was disposed');
  }
}

interface EpochResult {
  loss: number;
  steps: number;
}

/** One pass over the users with any training items, in a fresh seeded order. */
function trainEpoch(
  net: VaeCfNetwork,
  optimizer: DenseAdam,
  rows: readonly Int32Array[],
  users: Int32Array,
  p: VaeCfParams,
  betaAt: () => number,
  rng: Rng,
  onStep: (loss: number) => void,
): EpochResult {
  rng.shuffle(users);
  const n = net.nItems;
  const variables = net.variables();
  let lossSum = 0;
  let steps = 0;
  for (let s = 0; s < users.length; s += p.batchSize) {
    const batchUsers = users.subarray(s, Math.min(users.length, s + p.batchSize));
    const b = batchUsers.length;
    const batchRows = Array.from(batchUsers, (u) => rows[u] as Int32Array);
    const { input, counts } = inputRows(batchRows, n, 1 - p.dropout, rng);
    const noise = Float32Array.from({ length: b * p.latent }, () => rng.normal());
    const beta = betaAt();
    const tensors = [tf.tensor2d(input, [b, n]), tf.tensor2d(counts, [b, n]), tf.tensor2d(noise, [b, p.latent])] as const;
    try {
      const { loss } = gradientStep({
        inputs: [],
        variables,
        optimizer,
        loss: () => net.loss(tensors[0], tensors[1], tensors[2], beta, p.l2),
      });
      lossSum += loss;
      steps++;
      onStep(loss);
    } finally {
      tf.dispose([...tensors]);
    }
  }
  return { loss: steps > 0 ? lossSum / steps : Number.NaN, steps };
}

async function fit(train: TrainSet, options: FitOptions): Promise<TrainedModel> {
  const p = resolveVaeCfParams(options);
  const backend = await initBackend(p.backend);
  const log = options.log ?? (() => {});
  const progress = options.progress ?? silentProgress;
  const { dataset, csr } = train;
  const nUsers = Math.max(dataset.users.size, csr.rows);
  const nItems = Math.max(dataset.items.size, csr.cols);
  if (nItems < 1) throw new TastemakerError('INVALID_ARGUMENT', 'vae-cf: the training set has no items.');
  const rng = new Rng(p.seed);
  const all = distinctRows(csr);
  const holdout = p.validationUsers > 0 ? holdOutUsers(all, p.validationUsers, p.validationFraction, rng.fork()) : undefined;
  const validating = holdout !== undefined && holdout.users.length > 0;
  const rows = validating ? holdout.train : all;
  const users = Int32Array.from(rows.flatMap((r, u) => (r.length > 0 ? [u] : [])));
  if (users.length === 0) throw new TastemakerError('INVALID_ARGUMENT', 'vae-cf: no user has a training interaction.');

  const net = new VaeCfNetwork(nItems, p, rng.fork());
  const optimizer = new DenseAdam({ learningRate: p.learningRate });
  const stopper = new EarlyStopping<Float32Array[]>({ patience: p.patience, capture: () => net.capture(), restore: (s) => net.restore(s) });
  const stepsPerEpoch = Math.ceil(users.length / p.batchSize);
  const annealSteps = p.annealEpochs * stepsPerEpoch;
  let step = 0;
  const betaAt = (): number => (annealSteps > 0 ? p.beta * Math.min(1, step / annealSteps) : p.beta);

  progress.start('vae-cf', p.epochs * stepsPerEpoch);
  const t0 = performance.now();
  let epochsRun = 0;
  let lastLoss = Number.NaN;
  let lastNdcg = Number.NaN;
  try {
    for (let epoch = 1; epoch <= p.epochs; epoch++) {
      const result = trainEpoch(net, optimizer, rows, users, p, betaAt, rng.fork(), (loss) => {
        step++;
        progress.update(step, { epoch, loss: Number(loss.toFixed(2)), ...(validating ? { 'val ndcg@10': Number(lastNdcg.toFixed(4)) } : {}) });
      });
      epochsRun = epoch;
      lastLoss = result.loss;
      if (!Number.isFinite(lastLoss)) throw new TastemakerError('INVALID_CONFIG', `vae-cf: loss became ${lastLoss} in epoch ${epoch}; lower the learning rate.`, { epoch });
      if (validating) {
        lastNdcg = validationNdcg(net, holdout);
        const verdict = stopper.observe(epoch, lastNdcg);
        log(`vae-cf epoch ${epoch} loss ${lastLoss.toFixed(3)} β ${betaAt().toFixed(3)} validation ndcg@10 ${lastNdcg.toFixed(4)}${verdict === 'improved' ? ' (best)' : ''}`);
        if (verdict === 'stop') break;
      } else {
        log(`vae-cf epoch ${epoch} loss ${lastLoss.toFixed(3)} β ${betaAt().toFixed(3)}`);
      }
      // Let timers and I/O (progress rendering, signals) run between epochs.
      await new Promise<void>((resolve) => setImmediate(resolve));
    }
    if (validating) stopper.restoreBest();
  } catch (e) {
    net.dispose();
    throw e;
  } finally {
    progress.stop();
    optimizer.dispose();
  }
  const seconds = (performance.now() - t0) / 1000;
  if (validating) log(`vae-cf: best epoch ${stopper.bestEpoch} of ${epochsRun} (validation ndcg@10 ${stopper.bestValue?.toFixed(4)}), ${seconds.toFixed(1)} s on ${backend.name}`);
  const info: TrainInfo = {
    backend: backend.name,
    epochs: epochsRun,
    samplesPerSecond: (users.length * epochsRun) / Math.max(seconds, 1e-9),
    params: {
      ...p,
      trainSeconds: Number(seconds.toFixed(3)),
      epochsRun,
      ...(validating ? { bestEpoch: stopper.bestEpoch, validationNdcg10: stopper.bestValue, validationUserCount: holdout.users.length } : {}),
      finalLoss: lastLoss,
    },
  };
  return new VaeCfModel(net, nUsers, info);
}

export const vaeCfModel: ModelFactory = {
  id: 'vae-cf',
  description: 'Mult-VAE (Liang et al. 2018): multinomial-likelihood variational autoencoder over user history rows, KL annealing, early stopping on held-out items',
  fit,
};
