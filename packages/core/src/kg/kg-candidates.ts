import { TastemakerError } from '../errors/index.js';
import type { SearchHit } from '../retrieval/types.js';
import type { ItemKnowledgeGraph } from './item-graph.js';
import { entitySpecificity } from './relation-weights.js';

export interface KgCandidateOptions {
  /** item → entity → item steps; 1 = items sharing an entity with the history. Default 1, at most 3. */
  hops?: number;
  /** most candidates returned, and most items a hop passes on to the next. Default 100. */
  maxCandidates?: number;
  /** most recent history items the walk starts from. Default 50. */
  maxSeeds?: number;
  /**
   * entities linked to more items than this are not walked through (a genre holding half the
   * catalogue names everything and costs the most). Default 5,000.
   */
  maxEntityItems?: number;
  /** factor applied to each hop after the first. Default 0.5. */
  hopDecay?: number;
}

export const KG_CANDIDATE_DEFAULTS: Required<KgCandidateOptions> = { hops: 1, maxCandidates: 100, maxSeeds: 50, maxEntityItems: 5000, hopDecay: 0.5 };

/** Checks options once, at construction, so a bad value fails before the first request. */
export function resolveKgCandidateOptions(options: KgCandidateOptions = {}): Required<KgCandidateOptions> {
  const out = { ...KG_CANDIDATE_DEFAULTS, ...options };
  const int = (key: keyof KgCandidateOptions, min: number, max: number) => {
    const v = out[key];
    if (typeof v !== 'number' || !Number.isInteger(v) || v < min || v > max) {
      throw new TastemakerError('INVALID_CONFIG', `Invalid kg.candidates.${key}: ${JSON.stringify(v)}. It must be an integer in [${min}, ${max}].`, {
        option: `kg.candidates.${key}`,
        got: v,
      });
    }
  };
  int('hops', 1, 3);
  int('maxCandidates', 1, 100_000);
  int('maxSeeds', 1, 100_000);
  int('maxEntityItems', 1, Number.MAX_SAFE_INTEGER);
  if (typeof out.hopDecay !== 'number' || !(out.hopDecay > 0 && out.hopDecay <= 1)) {
    throw new TastemakerError('INVALID_CONFIG', `Invalid kg.candidates.hopDecay: ${JSON.stringify(out.hopDecay)}. It must be a number in (0, 1].`, {
      option: 'kg.candidates.hopDecay',
      got: out.hopDecay,
    });
  }
  return out;
}

/**
 * Items reachable from the history through shared entities (item → entity → item, `hops` times),
 * best first. An item's score is the sum, over each (frontier item, shared entity) pair, of the
 * frontier item's weight × the relation's weight × the entity's specificity; history items weigh
 * 1, later hops pass on their best `maxCandidates` items scaled to at most `hopDecay`^hop.
 * History items and `excluded` rows are never returned (history items are still walked from).
 */
export function kgCandidates(
  kg: ItemKnowledgeGraph,
  history: readonly number[],
  relationWeights: Float64Array,
  options: Required<KgCandidateOptions>,
  excluded: ReadonlySet<number> = new Set(),
): SearchHit[] {
  const seeds = history.slice(Math.max(0, history.length - options.maxSeeds)).filter((row) => row >= 0 && row < kg.itemCount);
  const reached = new Set<number>(seeds);
  const scores = new Map<number, number>();
  let frontier = new Map<number, number>(seeds.map((row) => [row, 1]));
  for (let hop = 1; hop <= options.hops && frontier.size > 0; hop++) {
    const found = new Map<number, number>();
    for (const [item, weight] of frontier) {
      for (let s = kg.itemIndptr[item]!; s < kg.itemIndptr[item + 1]!; s++) {
        const w = weight * relationWeights[kg.itemRelations[s]!]!;
        if (w <= 0) continue;
        const entity = kg.itemEntities[s]!;
        const start = kg.entityIndptr[entity]!;
        const end = kg.entityIndptr[entity + 1]!;
        if (end - start > options.maxEntityItems) continue;
        const gain = w * entitySpecificity(kg, entity);
        for (let t = start; t < end; t++) {
          const other = kg.entityItems[t]!;
          if (reached.has(other)) continue;
          found.set(other, (found.get(other) ?? 0) + gain);
        }
      }
    }
    for (const [row, score] of found) scores.set(row, score);
    for (const row of found.keys()) reached.add(row);
    if (hop === options.hops) break;
    // The next hop walks from this hop's best items only, so cost stays bounded by maxCandidates.
    const best = bestOf(found, options.maxCandidates, undefined);
    const top = best[0]?.score ?? 1;
    frontier = new Map(best.map((h) => [h.row, (options.hopDecay * h.score) / top]));
  }
  return bestOf(scores, options.maxCandidates, excluded);
}

/** Highest scores first, ties by lower row, so results are a pure function of the inputs. */
function bestOf(scores: ReadonlyMap<number, number>, k: number, excluded: ReadonlySet<number> | undefined): SearchHit[] {
  const hits: SearchHit[] = [];
  for (const [row, score] of scores) if (excluded === undefined || !excluded.has(row)) hits.push({ row, score });
  hits.sort((a, b) => b.score - a.score || a.row - b.row);
  return hits.length > k ? hits.slice(0, k) : hits;
}
