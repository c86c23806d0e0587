import { TastemakerError } from '@tastemaker/core';

/**
 * The off-policy corrections of Chen et al. 2019 ("Top-K Off-Policy Correction for a REINFORCE
 * Recommender System"). The gradient of one logged step is
 *
 *   min(π(a|s) / β(a|s), cap) · λ_K(s, a) · (R − b) · ∇ log π(a|s)
 *
 * with β the behaviour policy that logged it, λ_K = K·(1 − π(a|s))^(K−1) the top-K correction (a
 * slate of K items drawn from π contains a with probability 1 − (1 − π)^K, whose gradient is λ_K
 * times π's), R the discounted return and b a baseline. All three factors are treated as constants
 * (no gradient flows through them), as in the paper.
 */

/** π/β clipped to [0, cap]: the capped importance weight that bounds the estimator's variance. */
export function clippedImportanceWeight(pi: number, beta: number, cap: number): number {
  if (!(beta > 0) || !Number.isFinite(beta)) throw new TastemakerError('INVALID_ARGUMENT', `behaviour propensity must be in (0, 1], got ${beta}`);
  if (!(cap > 0)) throw new TastemakerError('INVALID_CONFIG', `importance weight cap must be > 0, got ${cap}`);
  return Math.min(pi / beta, cap);
}

/** λ_K(s, a) = K·(1 − π)^(K−1); K = 1 gives 1 (plain REINFORCE). */
export function topKCorrection(pi: number, k: number): number {
  if (!Number.isInteger(k) || k < 1) throw new TastemakerError('INVALID_CONFIG', `top-K correction needs an integer K ≥ 1, got ${k}`);
  return k * Math.pow(1 - pi, k - 1);
}

/** Discounted returns G_t = r_t + γ·G_{t+1} of one trajectory's rewards. */
export function discountedReturns(rewards: ArrayLike<number>, gamma: number): Float64Array {
  const out = new Float64Array(rewards.length);
  let g = 0;
  for (let t = rewards.length - 1; t >= 0; t--) {
    g = rewards[t]! + gamma * g;
    out[t] = g;
  }
  return out;
}
