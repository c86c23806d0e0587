/** Log loss (binary cross-entropy) for CTR-style pair tests, next to AUC in metrics.ts. */

/** Probabilities are clipped to [ε, 1 − ε] so a single confident mistake gives a large but finite loss (sklearn does the same). */
const CLIP = 1e-7;

/** Mean −[y·ln p + (1 − y)·ln(1 − p)] over pairs; NaN for an empty set. */
export function logLoss(probabilities: ArrayLike<number>, labels: ArrayLike<number>): number {
  const n = probabilities.length;
  if (labels.length !== n) throw new RangeError(`logLoss: ${n} probabilities but ${labels.length} labels`);
  if (n === 0) return Number.NaN;
  let sum = 0;
  for (let j = 0; j < n; j++) {
    const p = Math.min(1 - CLIP, Math.max(CLIP, probabilities[j] as number));
    sum -= (labels[j] as number) > 0 ? Math.log(p) : Math.log(1 - p);
  }
  return sum / n;
}

/** The same from logits z (p = σ(z)), computed as softplus so large |z| stay exact: ln(1 + e^{−z}) for y = 1, ln(1 + e^{z}) for y = 0. */
export function logLossFromLogits(logits: ArrayLike<number>, labels: ArrayLike<number>): number {
  const n = logits.length;
  if (labels.length !== n) throw new RangeError(`logLossFromLogits: ${n} logits but ${labels.length} labels`);
  if (n === 0) return Number.NaN;
  let sum = 0;
  for (let j = 0; j < n; j++) {
    const z = logits[j] as number;
    const s = (labels[j] as number) > 0 ? -z : z;
    sum += s > 0 ? s + Math.log1p(Math.exp(-s)) : Math.log1p(Math.exp(s));
  }
  return sum / n;
}
