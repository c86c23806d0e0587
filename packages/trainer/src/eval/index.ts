export {
  auc,
  catalogCoverage,
  f1AtThreshold,
  hitRateAtK,
  mapAtK,
  mrrAtK,
  ndcgAtK,
  precisionAtK,
  recallAtK,
  topK,
} from './metrics.js';
export type { ItemFilter, RankedList, RelevantSet } from './metrics.js';
export { PROTOCOL_IDS, UNKNOWN_ITEM, isProtocolId, makeSplit } from './protocols.js';
export type { PairTest, ProtocolId, RankingTest, Split, SplitOptions } from './protocols.js';
export { evaluate } from './evaluate.js';
export type { EvaluateOptions } from './evaluate.js';
