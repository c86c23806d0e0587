import { TastemakerError } from '@tastemaker/core';
import type { RankerExport } from '../../export/types.js';
import type { FitOptions, ModelFactory, TrainedModel, TrainInfo, TrainSet } from '../types.js';
import { checkScoreBatch } from '../validation.js';
import { kgCandidates, topItems } from './candidates.js';
import { kgSongRankerExport } from './export.js';
import { gcnForward, gruRun, type KgSongWeights } from './network.js';
import { kgSongParams, type KgSongParams } from './params.js';
import { StateScorer } from './scorer.js';
import { recent, trainKgSong, type KgSongTrainResult } from './trainer.js';

export { KG_SONG_DEFAULTS, KG_SONG_NEGATIVES, kgSongParams, type KgSongNegatives, type KgSongParams } from './params.js';
export { entityItems, kgCandidates, topItems, type KgCandidateOptions } from './candidates.js';
export { kgSongRankerExport } from './export.js';
export { trainKgSong, userItems } from './trainer.js';
export type { KgSongWeights } from './network.js';

/** A trained kg-song: scoring, the candidate stage and the ranker export. */
export class KgSongModel implements TrainedModel {
  readonly id = 'kg-song' as const;
  readonly nUsers: number;
  readonly nItems: number;
  /** GCN-refined item embeddings [nItems, dim]; fixed after training */
  readonly itemEmbeddings: Float32Array;
  private disposed = false;

  constructor(
    readonly weights: KgSongWeights,
    private readonly histories: readonly Int32Array[],
    readonly params: KgSongParams,
    readonly info: TrainInfo,
  ) {
    this.nUsers = histories.length;
    this.nItems = weights.nItems;
    this.itemEmbeddings = gcnForward(weights).items;
  }

  private alive(): void {
    if (this.disposed) throw new TastemakerError('DISPOSED', 'kg-song model was disposed');
  }

  /** The user's most recent training positives (the GRU's input), or `given` for an unknown user. */
  historyOf(user: number, given: Int32Array = new Int32Array(0)): Int32Array {
    return recent(user >= 0 ? this.histories[user]! : given, this.params.historyLength);
  }

  /** GRU state [dim] for a history (item indices, oldest first; the last historyLength are read). */
  state(history: Int32Array): Float64Array {
    return gruRun(this.weights, this.itemEmbeddings, recent(history, this.params.historyLength)).h;
  }

  /**
   * Logits of every item: MLP(GRU(history), GCN item embedding). A known user's history is their
   * training positives in time order; an unknown user (-1) brings `histories[b]`.
   */
  async scoreBatch(users: Int32Array, histories: readonly Int32Array[]): Promise<Float32Array> {
    this.alive();
    checkScoreBatch('kg-song', users, histories, this.nUsers, this.nItems);
    const n = this.nItems;
    const d = this.weights.dim;
    const out = new Float32Array(users.length * n);
    for (let b = 0; b < users.length; b++) {
      const scorer = new StateScorer(this.weights, this.state(this.historyOf(users[b]!, histories[b]!)));
      for (let i = 0; i < n; i++) out[b * n + i] = scorer.score(this.itemEmbeddings, i * d);
    }
    return out;
  }

  /**
   * The seed's serving path for one user: the NCF model's top `seedItems` → KG neighbourhood
   * (`candidateHops`, at most `candidates` items, history excluded) → ranked by kg-song. Returns
   * the top `k` with their logits.
   */
  async recommend(seedModel: TrainedModel, user: number, k: number, history: Int32Array = new Int32Array(0)): Promise<{ items: Int32Array; scores: Float32Array }> {
    this.alive();
    if (seedModel.nItems !== this.nItems) {
      throw new TastemakerError('INVALID_ARGUMENT', `kg-song recommend: the seed model scores ${seedModel.nItems} items but kg-song has ${this.nItems}.`);
    }
    const hist = user >= 0 ? this.histories[user]! : history;
    const seedScores = await seedModel.scoreBatch(Int32Array.of(user), [hist]);
    const seeds = topItems(seedScores, this.params.seedItems, hist);
    const candidates = kgCandidates(this.weights.graph, this.weights.itemEntity, seeds, { hops: this.params.candidateHops, cardinality: this.params.candidates, exclude: hist });
    const scorer = new StateScorer(this.weights, this.state(this.historyOf(user, history)));
    const scores = Float32Array.from(candidates, (i) => scorer.score(this.itemEmbeddings, i * this.weights.dim));
    const order = topItems(scores, k);
    return { items: Int32Array.from(order, (j) => candidates[j]!), scores: Float32Array.from(order, (j) => scores[j]!) };
  }

  exportSpec(): RankerExport {
    this.alive();
    return kgSongRankerExport(this.weights, this.itemEmbeddings, this.params.historyLength, this.nUsers);
  }

  dispose(): void {
    this.disposed = true;
  }
}

export const kgSongModel: ModelFactory = {
  id: 'kg-song',
  ranker: true,
  description:
    'Interactive song recommender: NCF top items widened by k-hop KG neighbours (the candidate stage), GCN item embeddings (mean aggregation, W_k/B_k, ReLU), a GRU state over the user history, an MLP scoring state × candidate.',
  async fit(train: TrainSet, options: FitOptions): Promise<TrainedModel> {
    const params = kgSongParams(options);
    const progress = options.progress;
    const started = performance.now();
    progress?.start('kg-song: epochs', params.epochs);
    let result: KgSongTrainResult;
    try {
      result = trainKgSong(train, params, options.seed, (epoch, loss, validationAuc) => {
        progress?.update(epoch, { loss: Number(loss.toFixed(4)), ...(validationAuc !== undefined ? { auc: Number(validationAuc.toFixed(4)) } : {}) });
        options.log?.(
          `kg-song: epoch ${epoch} loss ${loss.toFixed(4)}${validationAuc !== undefined ? ` validation AUC ${validationAuc.toFixed(4)}` : ''} (${((performance.now() - started) / 1000).toFixed(0)} s)`,
        );
      });
    } finally {
      progress?.stop();
    }
    const seconds = (performance.now() - started) / 1000;
    const epochs = result.losses.length;
    options.log?.(
      `kg-song: ${epochs} epochs (hops ${params.hops}, dim ${params.dim}, history ${params.historyLength}) in ${seconds.toFixed(1)} s` +
        (result.bestEpoch !== undefined ? `; restored epoch ${result.bestEpoch} (validation AUC ${result.validationAuc?.toFixed(4)})` : ''),
    );
    return new KgSongModel(result.weights, result.items.positives, params, {
      backend: 'typed-arrays',
      epochs: result.bestEpoch ?? epochs,
      params: { ...params },
    });
  },
};
