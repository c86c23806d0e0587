import type { DqnSideData } from './dqn-weights.js';

/**
 * The DQN's belief term φ₀(s), added to the Q-network's φ(s) inside the graph (its `prior` input).
 * Same math as the trainer's RidgeBelief (trainer/src/rl/dqn/belief.ts), kept in core because it is
 * a per-state linear solve rather than a fixed graph: the state's items are regressed on the rating
 * model's item factors, (p̂, b̂_u) = argmin Σ_j (r_j − μ − b_j − b_u − p·q_j)² + λ(|p|² + b_u²), and
 * φ₀ = [p̂/2, 1/2, (μ + b̂_u − 3)/2], so φ₀·[q_a, b_a, 1] is the predicted reward of every item.
 *
 * `rows` is the [2N] state (liked then skipped, -1 padding); `ratings[t]` the rating observed for
 * slot t, NaN when none. For a known user with `userPrior` the ridge is centred on the user's row
 * and only observed slots count (the row already fits the training ratings); otherwise it is
 * centred on 0 and unobserved slots count with the default liked / skipped rating.
 * Hand-written: a (dim+1)² Cholesky solve, no library needed for that size.
 */
export function dqnBelief(data: DqnSideData, user: number, rows: Int32Array, ratings: Float64Array): Float32Array {
  const { dim, itemFactors: Q, itemBias, globalMean, lambda, stateSize: n } = data;
  const out = new Float32Array(dim + 2);
  if (data.prior === 'none') return out;
  const k = dim + 1;
  const A = new Float64Array(k * k);
  const y = new Float64Array(k);
  for (let d = 0; d < k; d++) A[d * k + d] = lambda;
  const known = data.userPrior && user >= 0 && user < data.nUsers;
  if (known) {
    for (let d = 0; d < dim; d++) y[d] = lambda * (data.userFactors[user * dim + d] as number);
    y[dim] = lambda * (data.userBias[user] as number);
  }
  const x = new Float64Array(k);
  for (let t = 0; t < 2 * n; t++) {
    const i = rows[t] as number;
    if (i < 0) continue;
    const r = ratings[t] as number;
    const observed = !Number.isNaN(r);
    if (known && !observed) continue;
    let rating = observed ? r : t < n ? data.likedRating : data.skippedRating;
    // ratings are capped at 5: a 5 only says "at least 5", so it cannot pull the prediction down
    if (known && rating >= 5) {
      let pred = globalMean + (data.userBias[user] as number) + (itemBias[i] as number);
      for (let d = 0; d < dim; d++) pred += (data.userFactors[user * dim + d] as number) * (Q[i * dim + d] as number);
      rating = Math.max(rating, pred);
    }
    const target = rating - globalMean - (itemBias[i] as number);
    for (let d = 0; d < dim; d++) x[d] = Q[i * dim + d] as number;
    x[dim] = 1;
    for (let a = 0; a < k; a++) {
      const xa = x[a] as number;
      y[a] = (y[a] as number) + xa * target;
      for (let b = 0; b <= a; b++) A[a * k + b] = (A[a * k + b] as number) + xa * (x[b] as number);
    }
  }
  const w = choleskySolve(A, y, k);
  for (let d = 0; d < dim; d++) out[d] = (w[d] as number) / 2;
  out[dim] = 0.5;
  out[dim + 1] = (globalMean + (w[dim] as number) - 3) / 2;
  return out;
}

/** Solves A w = y for symmetric positive definite A (lower triangle filled); A is overwritten. */
function choleskySolve(A: Float64Array, y: Float64Array, k: number): Float64Array {
  for (let j = 0; j < k; j++) {
    let s = A[j * k + j] as number;
    for (let m = 0; m < j; m++) s -= (A[j * k + m] as number) ** 2;
    const l = Math.sqrt(Math.max(s, 1e-12));
    A[j * k + j] = l;
    for (let i = j + 1; i < k; i++) {
      let t = A[i * k + j] as number;
      for (let m = 0; m < j; m++) t -= (A[i * k + m] as number) * (A[j * k + m] as number);
      A[i * k + j] = t / l;
    }
  }
  const z = new Float64Array(k);
  for (let i = 0; i < k; i++) {
    let s = y[i] as number;
    for (let m = 0; m < i; m++) s -= (A[i * k + m] as number) * (z[m] as number);
    z[i] = s / (A[i * k + i] as number);
  }
  const w = new Float64Array(k);
  for (let i = k - 1; i >= 0; i--) {
    let s = z[i] as number;
    for (let m = i + 1; m < k; m++) s -= (A[m * k + i] as number) * (w[m] as number);
    w[i] = s / (A[i * k + i] as number);
  }
  return w;
}
