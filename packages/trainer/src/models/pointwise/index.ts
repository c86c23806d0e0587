/**
 * Shared machinery for pointwise (one labelled pair at a time) models: labelled pair sets, negative
 * sampling with a configurable ratio, per-user validation splits and early stopping.
 */
export { NegativeSampler, concatPairs, explicitPairs, pairCount, selectPairs, shufflePairs } from './labelled-pairs.js';
export type { LabelledPairs, NegativeSamplerOptions } from './labelled-pairs.js';
export { holdOutPositives, splitPairsByUser } from './validation-split.js';
export { repeatRecentPositives } from './recency.js';
export { EarlyStopping, typedArrayState } from './early-stopping.js';
export type { EarlyStoppingOptions, EarlyStoppingVerdict } from './early-stopping.js';
export { logLoss, logLossFromLogits } from '../../eval/ctr-metrics.js';
export { LABEL_MODES, POINTWISE_DEFAULTS, fitPointwise, hasExplicitNegatives, pointwiseOptions, trainSetLabelledPairs } from './fit-loop.js';
export type { EpochRecord, LabelMode, PointwiseFitResult, PointwiseLearner, PointwiseOptions } from './fit-loop.js';
export { buildCtrFeatures, pairSlots, pairSlotsGraph, slotCount, yearBucket } from './feature-fields.js';
export type { CtrFeatureOptions, CtrFeatures, CtrField } from './feature-fields.js';
export { PAIR_CHUNK, SlotModel, booleanOption, fitSlotModel, logisticLoss, scoreAllItems, sigmoid, trainSizes } from './ctr-model.js';
export type { SlotLearner } from './ctr-model.js';
export { EMBEDDING_OPTIMIZERS, FieldEmbeddings } from './field-embeddings.js';
export type { EmbeddingOptimizer, FieldEmbeddingOptions } from './field-embeddings.js';
export { DeepCtrModel, densePairs, embeddingOptimizerOption, fitDeepCtr, mlpGraph, widthsOption } from './deep-ctr.js';
export type { DeepCtrParts, DenseFeatures, WidePart } from './deep-ctr.js';
