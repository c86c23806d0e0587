import type { FeatureMatrix } from '../data/dataset.js';

/**
 * Model parameters in plain typed arrays, which the ONNX exporter turns into graphs following the
 * bundle contract (packages/core/src/bundle/manifest.ts). All matrices are row-major float32.
 */
export type ExportSpec = PopularityExport | ItemSimilarityExport | MatrixFactorizationExport | TwoTowerExport;

/** score(u, i) = scores[i] for everyone. */
export interface PopularityExport {
  kind: 'popularity';
  scores: Float32Array;
}

/** score(u, i) = sum over h in history(u) of matrix[h, i]  (item-KNN, EASE). */
export interface ItemSimilarityExport {
  kind: 'item-similarity';
  nItems: number;
  /** [nItems, nItems] */
  matrix: Float32Array;
}

/**
 * score(u, i) = dot(P[u], Q[i]) + itemBias[i].
 * An unknown user is folded in as the mean of Q over their history.
 */
export interface MatrixFactorizationExport {
  kind: 'matrix-factorization';
  dim: number;
  /** [nUsers, dim] */
  userFactors: Float32Array;
  /** [nItems, dim] */
  itemFactors: Float32Array;
  itemBias?: Float32Array;
}

export interface DenseLayer {
  inputDim: number;
  outputDim: number;
  /** [inputDim, outputDim], so y = x · W + b */
  weight: Float32Array;
  bias: Float32Array;
  activation: 'relu' | 'linear' | 'tanh';
}

/**
 * User tower: x = concat(userEmbedding[u] (zeros if unknown), mean(historyEmbedding[h] for h in history)
 * (zeros if empty), userFeatures[u] (zeros if unknown or absent)); then the dense layers in order;
 * then L2-normalised if `l2Normalize`. Score = dot(userVector, itemVectors[i]).
 */
export interface TwoTowerExport {
  kind: 'two-tower';
  nUsers: number;
  nItems: number;
  userEmbedding: { dim: number; values: Float32Array };
  historyEmbedding: { dim: number; values: Float32Array };
  userFeatures?: FeatureMatrix;
  layers: DenseLayer[];
  l2Normalize: boolean;
  /** item tower outputs for every item, [nItems, dim] */
  itemVectors: Float32Array;
  dim: number;
}
