import { TastemakerError } from '@tastemaker/core';
import type { MatrixFactorizationExport } from '../export/types.js';
import type { FitOptions, ModelFactory, TrainedModel, TrainInfo, TrainSet } from '../models/types.js';
import { checkScoreBatch, numberOption } from '../models/validation.js';
import { PMF_DEFAULTS, trainPmf, type PmfFactors, type PmfParams } from './pmf.js';

/**
 * mf-greedy: rank items by their PMF-predicted rating, the greedy policy on the rating model that
 * the MF simulator uses. The DRR baselines table calls it "MF greedy". Trains on every rating of the
 * train part (low ones too: they are what a rating model learns from).
 */

export function pmfParamsFrom(model: string, options: FitOptions, base: PmfParams = PMF_DEFAULTS): PmfParams {
  const extra = options.extra ?? {};
  const positive = (v: number) => v > 0;
  return {
    dim: options.dim ?? numberOption(model, 'pmfDim', extra.pmfDim, base.dim, (v) => Number.isInteger(v) && v > 0, 'Use a positive integer.'),
    epochs: options.epochs ?? numberOption(model, 'pmfEpochs', extra.pmfEpochs, base.epochs, (v) => Number.isInteger(v) && v > 0, 'Use a positive integer.'),
    learningRate: options.learningRate ?? numberOption(model, 'pmfLr', extra.pmfLr, base.learningRate, positive, 'Use a number > 0.'),
    l2: options.l2 ?? numberOption(model, 'pmfL2', extra.pmfL2, base.l2, (v) => v >= 0, 'Use a number ≥ 0.'),
    initStd: numberOption(model, 'pmfInitStd', extra.pmfInitStd, base.initStd, positive, 'Use a number > 0.'),
    decay: numberOption(model, 'pmfDecay', extra.pmfDecay, base.decay, (v) => v > 0 && v <= 1, 'Use a number in (0, 1].'),
  };
}

class MfGreedyModel implements TrainedModel {
  readonly id = 'mf-greedy' as const;
  readonly nUsers: number;
  readonly nItems: number;
  private disposed = false;

  constructor(
    readonly factors: PmfFactors,
    readonly info: TrainInfo,
  ) {
    this.nUsers = factors.nUsers;
    this.nItems = factors.nItems;
  }

  async scoreBatch(users: Int32Array, histories: readonly Int32Array[]): Promise<Float32Array> {
    if (this.disposed) throw new TastemakerError('DISPOSED', 'mf-greedy model was disposed');
    checkScoreBatch(this.id, users, histories, this.nUsers, this.nItems);
    const { dim, itemFactors: Q, itemBias, userFactors: P } = this.factors;
    const out = new Float32Array(users.length * this.nItems);
    const pu = new Float32Array(dim);
    for (let b = 0; b < users.length; b++) {
      const u = users[b]!;
      // μ + b_u is the same for every item, so ranking by P·Q + b_i is ranking by predicted rating;
      // an unknown user is folded in as the mean factor of their history (as the MF export does)
      pu.fill(0);
      if (u >= 0) pu.set(P.subarray(u * dim, (u + 1) * dim));
      else {
        const h = histories[b]!;
        for (const i of h) for (let k = 0; k < dim; k++) pu[k]! += Q[i * dim + k]! / h.length;
      }
      const row = b * this.nItems;
      for (let i = 0; i < this.nItems; i++) {
        let s = itemBias[i]!;
        for (let k = 0; k < dim; k++) s += pu[k]! * Q[i * dim + k]!;
        out[row + i] = s;
      }
    }
    return out;
  }

  exportSpec(): MatrixFactorizationExport {
    const f = this.factors;
    return { kind: 'matrix-factorization', dim: f.dim, userFactors: f.userFactors.slice(), itemFactors: f.itemFactors.slice(), itemBias: f.itemBias.slice() };
  }

  dispose(): void {
    this.disposed = true;
  }
}

export const mfGreedyModel: ModelFactory = {
  id: 'mf-greedy',
  description: 'Rating MF (biased PMF, SGD); items ranked by predicted rating.',
  async fit(train: TrainSet, options: FitOptions): Promise<TrainedModel> {
    const params = pmfParamsFrom('mf-greedy', options);
    const d = train.dataset;
    const factors = trainPmf(d.interactions, d.users.size, d.items.size, params, options.seed);
    options.log?.(`mf-greedy: PMF train RMSE ${factors.rmse.at(-1)?.toFixed(4)} after ${params.epochs} epochs`);
    return new MfGreedyModel(factors, { backend: 'typed-arrays', epochs: params.epochs, params: { ...params } });
  },
};
