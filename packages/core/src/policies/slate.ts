import { TastemakerError } from '../errors/index.js';
import type { PolicyCandidate, RankedItem } from './types.js';

/** Drops repeated ids (first wins; `distinct`: the caller vouches there are none, so no check) and validates k. */
export function uniqueCandidates(candidates: readonly PolicyCandidate[], k: number, distinct = false): readonly PolicyCandidate[] {
  if (!Number.isInteger(k) || k < 0) throw new TastemakerError('INVALID_ARGUMENT', `k must be a non-negative integer, got ${String(k)}`, { field: 'k' });
  if (distinct) return candidates;
  const seen = new Set<string>();
  const out: PolicyCandidate[] = [];
  for (const c of candidates) {
    if (seen.has(c.itemId)) continue;
    seen.add(c.itemId);
    out.push(c);
  }
  return out;
}

/**
 * Model scores standardised over the list (mean 0, sd 1), so a score weight means the same whatever the
 * model's scale. `into` (at least as long as the list) receives them instead of a new array: a typed
 * array allocation costs about a microsecond, which a policy called on every served slate reuses away.
 */
export function standardisedScores(candidates: readonly PolicyCandidate[], into?: Float64Array): Float64Array {
  const n = candidates.length;
  const out = into ?? new Float64Array(n);
  out.fill(0, 0, n);
  if (n === 0) return out;
  let mean = 0;
  for (const c of candidates) mean += finite(c.score);
  mean /= n;
  let variance = 0;
  for (const c of candidates) variance += (finite(c.score) - mean) ** 2;
  const sd = Math.sqrt(variance / n);
  if (sd === 0) return out;
  for (let i = 0; i < n; i++) out[i] = (finite((candidates[i] as PolicyCandidate).score) - mean) / sd;
  return out;
}

function finite(x: number): number {
  return Number.isFinite(x) ? x : 0;
}

/** Candidate indices ordered by value, then model score, then input order: a total order, so selection is reproducible. */
export function orderByValue(values: ArrayLike<number>, candidates: readonly PolicyCandidate[]): number[] {
  const idx = Array.from({ length: candidates.length }, (_, i) => i);
  return idx.sort(
    (a, b) =>
      (values[b] as number) - (values[a] as number) ||
      finite((candidates[b] as PolicyCandidate).score) - finite((candidates[a] as PolicyCandidate).score) ||
      a - b,
  );
}

/** Whether candidate a beats b under orderByValue's order. */
export function beats(values: ArrayLike<number>, candidates: readonly PolicyCandidate[], a: number, b: number): boolean {
  const dv = (values[a] as number) - (values[b] as number);
  if (dv !== 0) return dv > 0;
  const ds = finite((candidates[a] as PolicyCandidate).score) - finite((candidates[b] as PolicyCandidate).score);
  if (ds !== 0) return ds > 0;
  return a < b;
}

/**
 * ε-greedy over a slate: at each position the best remaining candidate by value (orderByValue's
 * order), or with probability ε a uniformly random remaining one. Each propensity is exact:
 * ε/m plus 1−ε for the greedy pick. `forced` replays a given order (propensities of a logged slate).
 */
export function epsilonGreedySlate(
  values: ArrayLike<number>,
  candidates: readonly PolicyCandidate[],
  k: number,
  epsilon: number,
  rng: { next(): number },
  forced?: readonly number[],
): RankedItem[] {
  const remaining = candidates.map((_, i) => i);
  const order: number[] = [];
  const propensities: number[] = [];
  for (let j = 0; j < Math.min(k, candidates.length); j++) {
    let best = remaining[0] as number;
    for (const i of remaining) if (beats(values, candidates, i, best)) best = i;
    const m = remaining.length;
    let pick: number;
    if (forced !== undefined) pick = forced[j] as number;
    else pick = epsilon > 0 && rng.next() < epsilon ? (remaining[Math.floor(rng.next() * m)] as number) : best;
    propensities.push(epsilon / m + (pick === best ? 1 - epsilon : 0));
    order.push(pick);
    remaining.splice(remaining.indexOf(pick), 1);
  }
  return ranked(candidates, order, propensities);
}

export function ranked(candidates: readonly PolicyCandidate[], order: readonly number[], propensities: readonly number[]): RankedItem[] {
  return order.map((i, position) => {
    const c = candidates[i] as PolicyCandidate;
    return { itemId: c.itemId, score: c.score, propensity: propensities[position] as number, position };
  });
}

export function checkNumber(option: string, value: number, min: number, max = Infinity): number {
  if (typeof value !== 'number' || !Number.isFinite(value) || value < min || value > max) {
    throw new TastemakerError(
      'INVALID_CONFIG',
      `Invalid ${option}: ${JSON.stringify(value)}. Valid values: a number in [${min}, ${max === Infinity ? '∞' : max}].`,
      { option, got: value },
    );
  }
  return value;
}
