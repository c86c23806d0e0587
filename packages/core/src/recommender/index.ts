export {
  createRecommenderFromSource,
  createRecommenderFromBundle,
  type Recommender,
  type RecommendRequest,
  type Recommendation,
  type RecommenderInfo,
  type RecommenderOptions,
  type RecommenderFromSourceOptions,
  type ScoredItem,
  type IndexFactory,
} from './recommender.js';
export { openRankingStage, type RankingStage } from './ranking-stage.js';
