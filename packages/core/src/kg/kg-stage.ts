import type { LoadedBundle } from '../bundle/load-bundle.js';
import { TastemakerError } from '../errors/index.js';
import type { SearchHit } from '../retrieval/types.js';
import { compileTemplates, explainItems, type ExplainContext, type KgExplanation } from './explain.js';
import type { ItemKnowledgeGraph } from './item-graph.js';
import { kgCandidates, resolveKgCandidateOptions, type KgCandidateOptions } from './kg-candidates.js';
import { relationWeightsOf } from './relation-weights.js';

export interface KgCandidateMergeOptions extends KgCandidateOptions {
  /**
   * How much KG evidence lifts an item: its score becomes model score + weight × (spread of the
   * model scores in the merged pool) × (KG score / best KG score), so 1 means the strongest KG link
   * is worth the whole model-score range and the value needs no tuning per model. Default 0: the
   * KG only widens the pool, and the model (or the bundle's ranker) alone orders it.
   */
  weight?: number;
}

/** What a recommender does with a bundle's `kg` section. Ignored for bundles without one. */
export interface RecommenderKgOptions {
  /** attach the best KG path from the user's history to each recommended item. Default true. */
  explanations?: boolean;
  /** merge items reachable through shared entities into the model's candidates. Default off, except for bundles with a kg-song ranker. */
  candidates?: boolean | KgCandidateMergeOptions;
  /** by relation name, default 1 each; used by both candidates and explanations (0 = never use) */
  relationWeights?: Readonly<Record<string, number>>;
  /** explanation text by relation name, overriding DEFAULT_RELATION_TEMPLATES */
  templates?: Readonly<Record<string, string>>;
}

/** The ranker whose bundles merge KG candidates by default. */
const KG_WIDENING_RANKER = 'kg-song';

/**
 * The KG side of a recommender: KG candidates merged with the model's, and explanations. Options
 * are checked once when the stage opens, so a bad value fails at construction.
 */
export class KgStage {
  readonly candidatesOn: boolean;
  readonly explanationsOn: boolean;
  private readonly candidateOptions: ReturnType<typeof resolveKgCandidateOptions>;
  private readonly weight: number;
  private readonly explain: ExplainContext;

  private constructor(
    readonly kg: ItemKnowledgeGraph,
    itemIds: readonly string[],
    options: RecommenderKgOptions,
  ) {
    if (typeof options !== 'object' || options === null) throw new TastemakerError('INVALID_CONFIG', 'kg options must be an object', { option: 'kg' });
    const merge: KgCandidateMergeOptions | undefined = options.candidates === true ? {} : options.candidates === false || options.candidates === undefined ? undefined : options.candidates;
    this.candidatesOn = merge !== undefined;
    this.explanationsOn = options.explanations !== false;
    const { weight = 0, ...walk } = merge ?? {};
    if (typeof weight !== 'number' || !Number.isFinite(weight) || weight < 0) {
      throw new TastemakerError('INVALID_CONFIG', `Invalid kg.candidates.weight: ${JSON.stringify(weight)}. It must be a finite number ≥ 0.`, {
        option: 'kg.candidates.weight',
        got: weight,
      });
    }
    this.weight = weight;
    this.candidateOptions = resolveKgCandidateOptions(walk);
    const relationWeights = relationWeightsOf(kg, options.relationWeights);
    this.explain = { kg, relationWeights, itemIds, templates: compileTemplates(kg, options.templates) };
  }

  /** The stage for a bundle, or undefined when the bundle has no knowledge graph. */
  static open(bundle: LoadedBundle, options: RecommenderKgOptions = {}): KgStage | undefined {
    if (bundle.kg === undefined) return undefined;
    // kg-song is the seed's KG recommender: retrieval's top items widened over the graph, then its
    // ranker. Its bundles widen the pool unless told otherwise.
    const widen = typeof options === 'object' && options !== null && options.candidates === undefined && bundle.manifest.ranker?.kind === KG_WIDENING_RANKER;
    return new KgStage(bundle.kg, bundle.itemIds, widen ? { ...options, candidates: true } : options);
  }

  /** KG candidates for one request: row → KG score, best first. */
  candidates(history: readonly number[], excluded: ReadonlySet<number>): Map<number, number> {
    const hits = kgCandidates(this.kg, history, this.explain.relationWeights, this.candidateOptions, excluded);
    return new Map(hits.map((h) => [h.row, h.score]));
  }

  /** The model's hits plus the KG candidates it did not return, each scored by the model. */
  union(modelHits: readonly SearchHit[], kgScores: ReadonlyMap<number, number>, modelScores: (rows: readonly number[]) => SearchHit[]): SearchHit[] {
    const present = new Set(modelHits.map((h) => h.row));
    const missing = [...kgScores.keys()].filter((row) => !present.has(row));
    return missing.length === 0 ? [...modelHits] : [...modelHits, ...modelScores(missing)];
  }

  /** Adds the weighted KG boost (see KgCandidateMergeOptions.weight) and sorts, best first. */
  blend(hits: readonly SearchHit[], kgScores: ReadonlyMap<number, number>): SearchHit[] {
    let boosted: SearchHit[] = [...hits];
    if (this.weight > 0 && kgScores.size > 0 && hits.length > 0) {
      let best = 0;
      for (const s of kgScores.values()) best = Math.max(best, s);
      let lo = Infinity;
      let hi = -Infinity;
      for (const h of hits) {
        lo = Math.min(lo, h.score);
        hi = Math.max(hi, h.score);
      }
      // A pool whose scores are all equal still lets the KG order it.
      const spread = hi > lo ? hi - lo : 1;
      boosted = hits.map((h) => {
        const kg = kgScores.get(h.row);
        return kg === undefined || best <= 0 ? h : { row: h.row, score: h.score + (this.weight * spread * kg) / best };
      });
    }
    return boosted.sort((a, b) => b.score - a.score || a.row - b.row);
  }

  /** The best path from the history to each item row (see explainItems). */
  explanations(history: readonly number[], rows: readonly number[]): (KgExplanation | undefined)[] {
    return explainItems(this.explain, history, rows);
  }
}
