import { TastemakerError } from '@tastemaker/core';
import type { Activation } from '../../engine/dense.js';
import type { FitOptions } from '../types.js';

export interface TwoTowerParams {
  dim: number;
  /** width of the user-id embedding; 0 leaves it out (users are then their history and features) */
  userIdDim: number;
  /** hidden layer widths of the user tower (then a linear layer to `dim`) */
  userHidden: number[];
  /** hidden layer widths of the item tower */
  itemHidden: number[];
  activation: Activation;
  epochs: number;
  batchSize: number;
  learningRate: number;
  /** learning rate of the sparse tables (SparseAdam) */
  embeddingLearningRate: number;
  /** L2 on touched embedding rows */
  l2: number;
  /** uniformly sampled extra negatives per step, on top of the in-batch ones */
  negatives: number;
  /** softmax temperature on cosine scores */
  temperature: number;
  l2Normalize: boolean;
  /** mask a user's other training items out of its negatives */
  maskSeen: boolean;
  /** history and item-tower ids share one table */
  shareItemEmbeddings: boolean;
  seed: number;
  backend: string;
}

export const TWO_TOWER_DEFAULTS: Omit<TwoTowerParams, 'seed' | 'backend' | 'userIdDim'> = {
  dim: 64,
  userHidden: [128],
  itemHidden: [],
  activation: 'relu',
  epochs: 3,
  batchSize: 512,
  learningRate: 0.003,
  embeddingLearningRate: 0.01,
  l2: 0,
  negatives: 256,
  temperature: 0.2,
  l2Normalize: true,
  maskSeen: true,
  shareItemEmbeddings: false,
};

/** Numeric / boolean / list options from FitOptions and its `extra` (`--set key=value`). */
export function resolveTwoTowerParams(options: FitOptions): TwoTowerParams {
  const x = options.extra ?? {};
  const num = (key: string, fallback: number): number => {
    const v = x[key];
    if (v === undefined) return fallback;
    const n = typeof v === 'number' ? v : Number(v);
    if (!Number.isFinite(n)) throw new TastemakerError('INVALID_CONFIG', `two-tower: ${key} must be a number, got ${JSON.stringify(v)}`, { option: key, got: v });
    return n;
  };
  const bool = (key: string, fallback: boolean): boolean => {
    const v = x[key];
    if (v === undefined) return fallback;
    if (typeof v === 'boolean') return v;
    if (v === 'true' || v === 1 || v === '1') return true;
    if (v === 'false' || v === 0 || v === '0') return false;
    throw new TastemakerError('INVALID_CONFIG', `two-tower: ${key} must be true or false, got ${JSON.stringify(v)}`, { option: key, got: v });
  };
  const list = (key: string, fallback: number[]): number[] => {
    const v = x[key];
    if (v === undefined) return fallback;
    const s = String(v).trim();
    if (s === '' || s === 'none') return [];
    const out = s.split(/[,x ]+/).map(Number);
    if (out.some((n) => !Number.isInteger(n) || n <= 0)) {
      throw new TastemakerError('INVALID_CONFIG', `two-tower: ${key} must be a comma-separated list of widths, got ${JSON.stringify(v)}`, { option: key, got: v });
    }
    return out;
  };
  const activation = String(x.activation ?? TWO_TOWER_DEFAULTS.activation);
  if (activation !== 'relu' && activation !== 'tanh' && activation !== 'linear') {
    throw new TastemakerError('INVALID_CONFIG', `Invalid activation: ${JSON.stringify(activation)}. Valid values: "relu", "tanh", "linear".`, {
      option: 'activation',
      got: activation,
      valid: ['relu', 'tanh', 'linear'],
    });
  }
  const d = TWO_TOWER_DEFAULTS;
  const dim = options.dim ?? num('dim', d.dim);
  const p: TwoTowerParams = {
    dim,
    userIdDim: num('userIdDim', dim),
    userHidden: list('userHidden', d.userHidden),
    itemHidden: list('itemHidden', d.itemHidden),
    activation,
    epochs: options.epochs ?? num('epochs', d.epochs),
    batchSize: options.batchSize ?? num('batchSize', d.batchSize),
    learningRate: options.learningRate ?? num('learningRate', d.learningRate),
    embeddingLearningRate: num('embeddingLearningRate', options.learningRate !== undefined ? options.learningRate * (d.embeddingLearningRate / d.learningRate) : d.embeddingLearningRate),
    l2: options.l2 ?? num('l2', d.l2),
    negatives: num('negatives', d.negatives),
    temperature: num('temperature', d.temperature),
    l2Normalize: bool('l2Normalize', d.l2Normalize),
    maskSeen: bool('maskSeen', d.maskSeen),
    shareItemEmbeddings: bool('shareItemEmbeddings', d.shareItemEmbeddings),
    seed: options.seed,
    backend: options.backend ?? 'auto',
  };
  for (const [k, v] of [
    ['dim', p.dim],
    ['epochs', p.epochs],
    ['batchSize', p.batchSize],
  ] as const) {
    if (!Number.isInteger(v) || v <= 0) throw new TastemakerError('INVALID_CONFIG', `two-tower: ${k} must be a positive integer, got ${v}`, { option: k, got: v });
  }
  if (!Number.isInteger(p.userIdDim) || p.userIdDim < 0) {
    throw new TastemakerError('INVALID_CONFIG', `two-tower: userIdDim must be an integer >= 0, got ${p.userIdDim}`, { option: 'userIdDim', got: p.userIdDim });
  }
  if (!(p.temperature > 0)) throw new TastemakerError('INVALID_CONFIG', `two-tower: temperature must be > 0, got ${p.temperature}`, { option: 'temperature', got: p.temperature });
  if (!Number.isInteger(p.negatives) || p.negatives < 0) {
    throw new TastemakerError('INVALID_CONFIG', `two-tower: negatives must be an integer >= 0, got ${p.negatives}`, { option: 'negatives', got: p.negatives });
  }
  return p;
}
