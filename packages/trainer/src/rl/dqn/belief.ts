import { Rng } from '../../engine/rng.js';
import { STATE_PADDING } from '../env.js';
import type { PmfFactors, PmfParams } from '../pmf.js';
import type { UserTimelines } from '../timelines.js';

/**
 * A closed-form belief about the user behind a DQN state, added to the Q-network's φ(s) so that an
 * untrained network already ranks like a rating model folded in from what the state knows, and
 * Q-learning learns a correction (the same role as DRR's skip connection).
 *
 * The items of the state (liked and skipped windows) are regressed on the rating MF's item factors:
 * (p̂, b̂_u) = argmin Σ_j (r_j − μ − b_j − b_u − p·q_j)² + λ(|p|² + b_u²), a ridge fold-in. r_j is the
 * rating the agent observed for item j (reward (r − 3)/2 inverted) when it is known, else a default
 * for a liked (4) or skipped (2.5) item — so the belief uses the negative feedback directly. The
 * With `userPrior` a known user's ridge pulls towards their own PMF row (P_u, b_u) instead of 0 and
 * counts only the ratings observed since (`rewardOf` must then return only those; the row already
 * fits the training ratings), so the belief starts at the rating model's user and moves with what
 * the episode shows. The
 * result is written as φ₀ = [p̂/2, 1/2, (μ + b̂_u − 3)/2], which makes φ₀·[q_a, b_a, 1] the predicted
 * reward (r̂_a − 3)/2 of every candidate. Hand-written: a (dim+1)² Cholesky solve per state.
 */
export class RidgeBelief {
  readonly k: number;
  private readonly A: Float64Array;
  private readonly rhs: Float64Array;

  constructor(
    private readonly pmf: PmfFactors,
    readonly lambda: number,
    readonly userPrior = false,
    readonly likedRating = 4,
    readonly skippedRating = 2.5,
  ) {
    this.k = pmf.dim + 1;
    this.A = new Float64Array(this.k * this.k);
    this.rhs = new Float64Array(this.k);
  }

  /** φ's width: item embedding (factors + bias) + 1 */
  get outDim(): number {
    return this.pmf.dim + 2;
  }

  /**
   * Writes φ₀ of a [2N] state (liked then skipped, STATE_PADDING for empty) at out[o..]; `rewardOf`
   * gives the observed reward of an item, if any.
   */
  prior(state: Int32Array, offset: number, n: number, rewardOf: (item: number) => number | undefined, out: Float32Array, o: number, user = -1): void {
    const { dim, itemFactors: Q, itemBias, globalMean } = this.pmf;
    const k = this.k;
    const A = this.A;
    const y = this.rhs;
    A.fill(0);
    y.fill(0);
    for (let d = 0; d < k; d++) A[d * k + d] = this.lambda;
    if (this.userPrior && user >= 0 && user < this.pmf.nUsers) {
      for (let d = 0; d < dim; d++) y[d] = this.lambda * this.pmf.userFactors[user * dim + d]!;
      y[dim] = this.lambda * this.pmf.userBias[user]!;
    }
    const x = new Float64Array(k);
    const known = this.userPrior && user >= 0 && user < this.pmf.nUsers;
    for (let t = 0; t < 2 * n; t++) {
      const i = state[offset + t]!;
      if (i === STATE_PADDING) continue;
      const r = rewardOf(i);
      // the user's PMF row already accounts for their training ratings: only new observations update it
      if (known && r === undefined) continue;
      let rating = r !== undefined ? 3 + 2 * r : t < n ? this.likedRating : this.skippedRating;
      // ratings are capped at 5: a 5 only says "at least 5", so it cannot pull the prediction down
      if (known && rating >= 5) {
        let pred = globalMean + this.pmf.userBias[user]! + itemBias[i]!;
        for (let d = 0; d < dim; d++) pred += this.pmf.userFactors[user * dim + d]! * Q[i * dim + d]!;
        rating = Math.max(rating, pred);
      }
      const target = rating - globalMean - itemBias[i]!;
      for (let d = 0; d < dim; d++) x[d] = Q[i * dim + d]!;
      x[dim] = 1;
      for (let a = 0; a < k; a++) {
        y[a] = y[a]! + x[a]! * target;
        const xa = x[a]!;
        for (let b = 0; b <= a; b++) A[a * k + b] = A[a * k + b]! + xa * x[b]!;
      }
    }
    const w = choleskySolve(A, y, k);
    for (let d = 0; d < dim; d++) out[o + d] = w[d]! / 2;
    out[o + dim] = 0.5;
    out[o + dim + 1] = (globalMean + w[dim]! - 3) / 2;
  }
}

/** Solves A w = y for symmetric positive definite A (lower triangle filled); A is overwritten. */
function choleskySolve(A: Float64Array, y: Float64Array, k: number): Float64Array {
  for (let j = 0; j < k; j++) {
    let s = A[j * k + j]!;
    for (let m = 0; m < j; m++) s -= A[j * k + m]! * A[j * k + m]!;
    const l = Math.sqrt(Math.max(s, 1e-12));
    A[j * k + j] = l;
    for (let i = j + 1; i < k; i++) {
      let t = A[i * k + j]!;
      for (let m = 0; m < j; m++) t -= A[i * k + m]! * A[j * k + m]!;
      A[i * k + j] = t / l;
    }
  }
  const z = new Float64Array(k);
  for (let i = 0; i < k; i++) {
    let s = y[i]!;
    for (let m = 0; m < i; m++) s -= A[i * k + m]! * z[m]!;
    z[i] = s / A[i * k + i]!;
  }
  const w = new Float64Array(k);
  for (let i = k - 1; i >= 0; i--) {
    let s = z[i]!;
    for (let m = i + 1; m < k; m++) s -= A[m * k + i]! * w[m]!;
    w[i] = s / A[i * k + i]!;
  }
  return w;
}

/**
 * User rows refitted from each user's ratings up to and including their `positives`-th liked one
 * (by time), item factors and biases kept: what the rating model would know about a user who had
 * just reached the state an episode starts from. The DQN's belief uses these rows (`coldUsers=1`)
 * so train users look to it like held-out users do (whose train part ends at that point) and
 * Q-learning sees beliefs that are actually wrong. Same SGD as trainPmf, user parameters only.
 */
export function coldUserRows(pmf: PmfFactors, timelines: UserTimelines, positives: number, threshold: number, params: PmfParams, seed: number): PmfFactors {
  const { dim, nUsers, itemFactors: Q, itemBias, globalMean } = pmf;
  const rng = new Rng(seed);
  const P = new Float32Array(nUsers * dim);
  for (let k = 0; k < P.length; k++) P[k] = rng.normal() * params.initStd;
  const bu = new Float32Array(nUsers);
  const kept: Int32Array[] = timelines.items.map((items, u) => {
    const ratings = timelines.ratings[u]!;
    let liked = 0;
    let end = items.length;
    for (let j = 0; j < items.length; j++) {
      if (ratings[j]! >= threshold && ++liked === positives) {
        end = j + 1;
        break;
      }
    }
    return Int32Array.from({ length: end }, (_, j) => j);
  });
  let lr = params.learningRate;
  for (let epoch = 0; epoch < params.epochs; epoch++) {
    for (let u = 0; u < nUsers; u++) {
      const order = rng.shuffle(kept[u]!);
      const items = timelines.items[u]!;
      const ratings = timelines.ratings[u]!;
      const pu = u * dim;
      for (const j of order) {
        const i = items[j]!;
        let pred = globalMean + bu[u]! + itemBias[i]!;
        for (let d = 0; d < dim; d++) pred += P[pu + d]! * Q[i * dim + d]!;
        const err = ratings[j]! - pred;
        bu[u] = bu[u]! + lr * (err - params.l2 * bu[u]!);
        for (let d = 0; d < dim; d++) P[pu + d] = P[pu + d]! + lr * (err * Q[i * dim + d]! - params.l2 * P[pu + d]!);
      }
    }
    lr *= params.decay;
  }
  return { ...pmf, userFactors: P, userBias: bu, rmse: [] };
}
