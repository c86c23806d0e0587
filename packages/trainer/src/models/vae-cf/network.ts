/**
 * Mult-VAE's encoder and decoder on tfjs (engine/dense.ts layers) and its training loss.
 *
 * The input is a user's multi-hot row, L2-normalised. The first encoder layer multiplies it densely,
 * [batch, nItems] · [nItems, hidden]: at catalogue sizes like ML-100K's 1,682 items that is one small
 * GEMM per step, and the decoder's output layer is a product of the same size anyway, so a sparse
 * gather-sum (with a sparse gradient) would not change the step's cost class. The exported graph
 * does gather rows instead (export.ts), where a single user's history is short.
 */
import * as tf from '@tensorflow/tfjs-core';
import { Dense } from '../../engine/dense.js';
import type { Rng } from '../../engine/rng.js';
import type { VaeCfParams } from './params.js';

/** The network's weights in plain arrays, row-major, y = x · W + b (the export format). */
export interface VaeCfWeights {
  nItems: number;
  hidden: number;
  latent: number;
  /** encoder: [nItems, hidden] tanh */
  encoder: { weight: Float32Array; bias: Float32Array };
  /** [hidden, latent], linear */
  mu: { weight: Float32Array; bias: Float32Array };
  /** decoder: [latent, hidden] tanh, then [hidden, nItems] linear (the logits) */
  decoderHidden: { weight: Float32Array; bias: Float32Array };
  decoderOutput: { weight: Float32Array; bias: Float32Array };
}

export class VaeCfNetwork {
  readonly nItems: number;
  readonly encoder: Dense;
  readonly mu: Dense;
  readonly logvar: Dense;
  readonly decoderHidden: Dense;
  readonly decoderOutput: Dense;

  constructor(nItems: number, p: Pick<VaeCfParams, 'hidden' | 'latent'>, rng: Rng) {
    this.nItems = nItems;
    this.encoder = new Dense(nItems, p.hidden, 'tanh', rng);
    // Two heads rather than one 2·latent layer split in half: tfjs-core has no registered Slice
    // gradient here (engine/gradients.ts), and the two forms are the same function.
    this.mu = new Dense(p.hidden, p.latent, 'linear', rng);
    this.logvar = new Dense(p.hidden, p.latent, 'linear', rng);
    this.decoderHidden = new Dense(p.latent, p.hidden, 'tanh', rng);
    this.decoderOutput = new Dense(p.hidden, nItems, 'linear', rng);
  }

  private layers(): Dense[] {
    return [this.encoder, this.mu, this.logvar, this.decoderHidden, this.decoderOutput];
  }

  variables(): tf.Variable[] {
    return this.layers().flatMap((l) => l.variables());
  }

  /** The weight matrices (not biases), which the L2 penalty covers. */
  weightMatrices(): tf.Variable[] {
    return this.layers().map((l) => l.weight);
  }

  /** Logits of every item from mu (no sampling): what serving ranks by. `x` is the normalised input. */
  scores(x: tf.Tensor2D): tf.Tensor2D {
    return tf.tidy(() => this.decode(this.mu.apply(this.encoder.apply(x))));
  }

  decode(z: tf.Tensor2D): tf.Tensor2D {
    return tf.tidy(() => this.decoderOutput.apply(this.decoderHidden.apply(z)));
  }

  /**
   * The negative ELBO per user, with the KL term weighted by `beta`:
   *   −Σ_i counts[i] · log softmax(logits)[i]  +  β · KL(N(mu, σ²) ‖ N(0, I))  (+ (l2/2)·Σw²),
   * where `input` is the dropped-out normalised row the encoder sees, `counts` the raw 0/1 row
   * the multinomial likelihood scores, and `noise` the reparameterisation's ε ~ N(0, I).
   */
  loss(input: tf.Tensor2D, counts: tf.Tensor2D, noise: tf.Tensor2D, beta: number, l2: number): tf.Scalar {
    const batch = input.shape[0];
    const h = this.encoder.apply(input);
    const mu = this.mu.apply(h);
    const logvar = this.logvar.apply(h);
    const z = tf.add(mu, tf.mul(noise, tf.exp(tf.mul(logvar, 0.5))));
    const logits = this.decode(z as tf.Tensor2D);
    const nll = tf.neg(tf.sum(tf.mul(tf.logSoftmax(logits), counts)));
    const kl = tf.mul(tf.sum(tf.sub(tf.add(tf.sub(tf.exp(logvar), logvar), tf.square(mu)), 1)), 0.5);
    let total = tf.div(tf.add(nll, tf.mul(kl, beta)), batch);
    if (l2 > 0) {
      // pairwise adds: AddN has no gradient registered in engine/gradients.ts
      const squares = this.weightMatrices().map((w) => tf.sum(tf.square(w)));
      const sum = squares.reduce((a, b) => tf.add(a, b));
      total = tf.add(total, tf.mul(sum, l2 / 2));
    }
    return total as tf.Scalar;
  }

  /** Copies of every variable's values, in variables() order (early stopping's snapshot). */
  capture(): Float32Array[] {
    return this.variables().map((v) => Float32Array.from(v.dataSync() as Float32Array));
  }

  restore(state: readonly Float32Array[]): void {
    this.variables().forEach((v, k) => {
      const values = state[k];
      if (values !== undefined) tf.tidy(() => v.assign(tf.tensor(values, v.shape)));
    });
  }

  weights(): VaeCfWeights {
    const read = (l: Dense) => ({ weight: Float32Array.from(l.weight.dataSync() as Float32Array), bias: Float32Array.from(l.bias.dataSync() as Float32Array) });
    return {
      nItems: this.nItems,
      hidden: this.encoder.outputDim,
      latent: this.mu.outputDim,
      encoder: read(this.encoder),
      mu: read(this.mu),
      decoderHidden: read(this.decoderHidden),
      decoderOutput: read(this.decoderOutput),
    };
  }

  dispose(): void {
    for (const l of this.layers()) l.dispose();
  }
}
