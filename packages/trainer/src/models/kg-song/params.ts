import { TastemakerError, invalidConfig } from '@tastemaker/core';
import type { FitOptions } from '../types.js';
import { numberOption, positive, positiveInt } from '../validation.js';

/**
 * Where training negatives come from: fresh uniform draws among the user's non-positives each
 * epoch (one per positive), or the protocol's labelled ones (kgcn keeps them in the train rows).
 * Fresh draws measured better on Last.FM kgcn (AUC 0.811 vs 0.805): the fixed negatives are
 * memorised within two epochs.
 */
export const KG_SONG_NEGATIVES = ['sampled', 'given'] as const;
export type KgSongNegatives = (typeof KG_SONG_NEGATIVES)[number];

export const KG_SONG_GCN_OUTPUTS = ['relu', 'linear'] as const;
export type KgSongGcnOutput = (typeof KG_SONG_GCN_OUTPUTS)[number];

export const KG_SONG_DEFAULTS = {
  dim: 16,
  /** GCN layers over the KG; 0 = no knowledge graph (the ablation) */
  hops: 1,
  /** activation of the last GCN layer: ReLU as the seed writes it, or linear */
  gcnOutput: 'relu' as KgSongGcnOutput,
  /**
   * add the item's own entity row to the GCN output. Measured on Last.FM kgcn: with it and long
   * training the KG model beats the no-KG ablation; the plain GCN output plateaus after 4 epochs.
   */
  residual: true as boolean,
  /** MLP hidden widths (ReLU), before the width-1 output */
  mlp: [32] as readonly number[],
  /** most recent history items the GRU reads */
  historyLength: 20,
  /** candidate generation: NCF top items used as seeds */
  seedItems: 20,
  /** candidate generation: KG hops walked from the seeds (item → artist → item is 2) */
  candidateHops: 2,
  /** candidate generation: how many candidates to return (the user-set cardinality) */
  candidates: 200,
  epochs: 40,
  learningRate: 5e-4,
  /** users per optimiser step */
  batchSize: 16,
  /** Adam's decoupled-from-loss L2 (added to every gradient), as kgcn's ArrayAdam does */
  l2: 1e-6,
  /** each epoch a user's positives are split into this many folds; each fold is scored with the rest as history */
  folds: 4,
  negatives: 'sampled' as KgSongNegatives,
  /** share of each user's positives (and labelled negatives) held out for early stopping on AUC; 0 = off */
  validation: 0.1,
  /**
   * epochs without a better validation AUC before stopping (the best epoch is restored); long,
   * because on Last.FM the KG model's validation AUC dips for ~5 epochs after epoch 4 and then
   * climbs past it (0.826 at epoch 4, 0.838 at epoch 30)
   */
  patience: 10,
} as const;

export interface KgSongParams {
  dim: number;
  hops: number;
  gcnOutput: KgSongGcnOutput;
  residual: boolean;
  mlp: number[];
  historyLength: number;
  seedItems: number;
  candidateHops: number;
  candidates: number;
  epochs: number;
  learningRate: number;
  batchSize: number;
  l2: number;
  folds: number;
  negatives: KgSongNegatives;
  validation: number;
  patience: number;
}

function mlpOption(value: unknown): number[] {
  if (value === undefined) return [...KG_SONG_DEFAULTS.mlp];
  const text = typeof value === 'number' ? String(value) : value;
  const fail = (): never => {
    throw new TastemakerError('INVALID_CONFIG', `Invalid mlp for kg-song: ${JSON.stringify(value)}. It must be comma-separated positive integer widths, e.g. "32" or "64,32", or "none".`, {
      option: 'mlp',
      got: value,
    });
  };
  if (typeof text !== 'string') return fail();
  if (text.trim() === 'none') return [];
  const widths = text.split(',').map((s) => Number(s.trim()));
  if (widths.length === 0 || widths.some((v) => !positiveInt(v) || v > 1024)) return fail();
  return widths;
}

function booleanOption(name: string, value: unknown, fallback: boolean): boolean {
  if (value === undefined) return fallback;
  if (value === true || value === 'true') return true;
  if (value === false || value === 'false') return false;
  throw invalidConfig(`kg-song ${name}`, value, ['true', 'false']);
}

/** Options from FitOptions and `--set`, validated with the valid range in each error. */
export function kgSongParams(options: FitOptions): KgSongParams {
  const extra = options.extra ?? {};
  const d = KG_SONG_DEFAULTS;
  const int = (name: string, value: unknown, fallback: number, min: number, max: number): number =>
    numberOption('kg-song', name, value, fallback, (v) => Number.isInteger(v) && v >= min && v <= max, `It must be an integer in [${min}, ${max}].`);
  const negatives = extra.negatives ?? d.negatives;
  if (typeof negatives !== 'string' || !(KG_SONG_NEGATIVES as readonly string[]).includes(negatives)) throw invalidConfig('kg-song negatives', negatives, KG_SONG_NEGATIVES);
  const gcnOutput = extra.gcnOutput ?? d.gcnOutput;
  if (typeof gcnOutput !== 'string' || !(KG_SONG_GCN_OUTPUTS as readonly string[]).includes(gcnOutput)) throw invalidConfig('kg-song gcnOutput', gcnOutput, KG_SONG_GCN_OUTPUTS);
  // `knowledge=none` is the ablation switch the other KG models take; for kg-song it means no GCN
  const knowledge = extra.knowledge ?? 'graph';
  if (knowledge !== 'graph' && knowledge !== 'none') throw invalidConfig('kg-song knowledge', knowledge, ['graph', 'none']);
  let hops = int('hops', extra.hops, d.hops, 0, 4);
  if (knowledge === 'none') {
    if (extra.hops !== undefined && hops !== 0) {
      throw new TastemakerError('INVALID_CONFIG', `kg-song: knowledge=none means hops=0, but hops=${hops} was given.`, { option: 'hops', got: extra.hops });
    }
    hops = 0;
  }
  return {
    dim: int('dim', options.dim, d.dim, 1, 512),
    hops,
    gcnOutput: gcnOutput as KgSongGcnOutput,
    residual: booleanOption('residual', extra.residual, d.residual),
    mlp: mlpOption(extra.mlp),
    historyLength: int('historyLength', extra.historyLength, d.historyLength, 1, 1000),
    seedItems: int('seedItems', extra.seedItems, d.seedItems, 1, 100_000),
    candidateHops: int('candidateHops', extra.candidateHops, d.candidateHops, 0, 6),
    candidates: int('candidates', extra.candidates, d.candidates, 1, 1_000_000),
    epochs: int('epochs', options.epochs, d.epochs, 0, 10_000),
    learningRate: numberOption('kg-song', 'learningRate', options.learningRate, d.learningRate, positive, 'It must be a positive number.'),
    batchSize: int('batchSize', options.batchSize, d.batchSize, 1, 1_000_000),
    l2: numberOption('kg-song', 'l2', options.l2, d.l2, (v) => Number.isFinite(v) && v >= 0, 'It must be a number ≥ 0.'),
    folds: int('folds', extra.folds, d.folds, 2, 100),
    negatives: negatives as KgSongNegatives,
    validation: numberOption('kg-song', 'validation', extra.validation, d.validation, (v) => Number.isFinite(v) && v >= 0 && v < 1, 'It must be a number in [0, 1).'),
    patience: int('patience', extra.patience, d.patience, 1, 1000),
  };
}
