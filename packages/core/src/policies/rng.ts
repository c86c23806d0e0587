/** A source of uniform numbers in [0, 1); policies take one by injection so tests and simulations replay exactly. */
export interface Rng {
  next(): number;
}

/**
 * mulberry32: tiny, fast and good enough for exploration (not for anything secret). A class with its
 * state in the open so a hot loop (Thompson sampling's propensity draws) can step it inline: a call
 * per number cost as much as the rest of that loop. `mulberry32Output` is the one definition of its output.
 */
export class Mulberry32 implements Rng {
  state: number;

  constructor(seed: number) {
    this.state = seed >>> 0;
  }

  next(): number {
    this.state = (this.state + 0x6d2b79f5) >>> 0;
    return mulberry32Output(this.state);
  }
}

/** The number in [0, 1) that mulberry32 returns for a (stepped) state. */
export function mulberry32Output(state: number): number {
  let t = state;
  t = Math.imul(t ^ (t >>> 15), t | 1);
  t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
  return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
}

export function createRng(seed: number): Rng {
  return new Mulberry32(seed);
}

/** A seed from Math.random, for policies created without one. */
export function randomSeed(): number {
  return Math.floor(Math.random() * 4294967296);
}

export function sampleNormal(rng: Rng): number {
  // Box–Muller; 1 - u keeps the log argument in (0, 1].
  const u = 1 - rng.next();
  const v = rng.next();
  return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * v);
}

/** Gamma(shape, 1): a sum of exponentials for small integer shapes, else Marsaglia–Tsang (boosted for shape < 1). */
export function sampleGamma(rng: Rng, shape: number): number {
  if (!(shape > 0)) throw new RangeError(`Gamma shape must be positive, got ${shape}`);
  // Bandit posteriors mostly have small integer parameters (prior 1 plus whole clicks), where the
  // product of uniforms is exact and several times cheaper than the rejection sampler.
  if (shape <= 8 && Number.isInteger(shape)) {
    let product = 1;
    for (let i = 0; i < shape; i++) product *= 1 - rng.next();
    return -Math.log(product);
  }
  if (shape < 1) return sampleGamma(rng, shape + 1) * Math.pow(1 - rng.next(), 1 / shape);
  const d = shape - 1 / 3;
  const c = 1 / Math.sqrt(9 * d);
  for (;;) {
    let x: number;
    let v: number;
    do {
      x = sampleNormal(rng);
      v = 1 + c * x;
    } while (v <= 0);
    v = v * v * v;
    const u = 1 - rng.next();
    if (u < 1 - 0.0331 * x * x * x * x) return d * v;
    if (Math.log(u) < 0.5 * x * x + d * (1 - v + Math.log(v))) return d * v;
  }
}

export function sampleBeta(rng: Rng, alpha: number, beta: number): number {
  // Beta(1, 1), every item without feedback under the default prior, is the uniform distribution.
  if (alpha === 1 && beta === 1) return rng.next();
  // One side at 1 has a closed-form inverse CDF (Beta(a, 1) is U^(1/a)): one uniform instead of two
  // Gamma draws. Under Thompson sampling this is every item shown without a click yet (β grows, α = 1).
  if (beta === 1) return Math.pow(1 - rng.next(), 1 / alpha);
  if (alpha === 1) return 1 - Math.pow(1 - rng.next(), 1 / beta);
  const x = sampleGamma(rng, alpha);
  const y = sampleGamma(rng, beta);
  return x / (x + y);
}
