/**
 * Small dense networks on TensorFlow.js variables, and the training step that ties them to the
 * sparse embedding tables: tfjs differentiates the dense part and hands back the gradient w.r.t.
 * the gathered embedding rows, which the tables' own optimisers apply (see embedding-table.ts).
 *
 * Only functional ops (tf.matMul(x, w), not x.matMul(w)) are used: bare tfjs-core does not register
 * the chained-op prototype methods.
 */
import * as tf from '@tensorflow/tfjs-core';
import type { DenseLayer as DenseLayerExport } from '../export/types.js';
import { ensureGradients } from './gradients.js';
import type { Rng } from './rng.js';

export type Activation = 'relu' | 'tanh' | 'linear';

export interface DenseSpec {
  units: number;
  activation: Activation;
}

export function applyActivation(x: tf.Tensor2D, activation: Activation): tf.Tensor2D {
  switch (activation) {
    case 'relu':
      return tf.relu(x);
    case 'tanh':
      return tf.tanh(x);
    case 'linear':
      return x;
  }
}

/** Glorot-uniform weights from the seeded Rng, so a run's initial network follows from its seed. */
export function glorotUniform(inputDim: number, outputDim: number, rng: Rng): Float32Array {
  const limit = Math.sqrt(6 / (inputDim + outputDim));
  const w = new Float32Array(inputDim * outputDim);
  for (let i = 0; i < w.length; i++) w[i] = (2 * rng.next() - 1) * limit;
  return w;
}

/** y = activation(x · W + b) with W [inputDim, outputDim], the layout the export format uses. */
export class Dense {
  readonly inputDim: number;
  readonly outputDim: number;
  readonly activation: Activation;
  readonly weight: tf.Variable<tf.Rank.R2>;
  readonly bias: tf.Variable<tf.Rank.R1>;

  constructor(inputDim: number, outputDim: number, activation: Activation, rng: Rng) {
    this.inputDim = inputDim;
    this.outputDim = outputDim;
    this.activation = activation;
    // No variable names: tfjs keeps a process-wide registry of names, and auto-generated ones
    // keep two models (or two tests) from colliding.
    // Inside tidy, so the initial-value tensors (which a variable does not take over) are freed.
    const w = glorotUniform(inputDim, outputDim, rng);
    this.weight = tf.tidy(() => tf.variable(tf.tensor2d(w, [inputDim, outputDim])));
    this.bias = tf.tidy(() => tf.variable(tf.zeros<tf.Rank.R1>([outputDim])));
  }

  apply(x: tf.Tensor2D): tf.Tensor2D {
    return tf.tidy(() => applyActivation(tf.add(tf.matMul(x, this.weight), this.bias), this.activation));
  }

  variables(): tf.Variable[] {
    return [this.weight, this.bias];
  }

  dispose(): void {
    this.weight.dispose();
    this.bias.dispose();
  }
}

/** A stack of Dense layers. */
export class Mlp {
  readonly inputDim: number;
  readonly layers: Dense[];

  constructor(inputDim: number, specs: readonly DenseSpec[], rng: Rng) {
    this.inputDim = inputDim;
    this.layers = [];
    let d = inputDim;
    for (const s of specs) {
      this.layers.push(new Dense(d, s.units, s.activation, rng));
      d = s.units;
    }
  }

  get outputDim(): number {
    return this.layers.at(-1)?.outputDim ?? this.inputDim;
  }

  apply(x: tf.Tensor2D): tf.Tensor2D {
    return tf.tidy(() => {
      let h = x;
      for (const l of this.layers) h = l.apply(h);
      return h;
    });
  }

  variables(): tf.Variable[] {
    return this.layers.flatMap((l) => l.variables());
  }

  toExport(): DenseLayerExport[] {
    return denseLayersToExport(this.layers);
  }

  dispose(): void {
    for (const l of this.layers) l.dispose();
  }
}

/** Reads the layers' weights back into the export format ([inputDim, outputDim] row-major, y = x·W + b). */
export function denseLayersToExport(layers: readonly Dense[]): DenseLayerExport[] {
  return layers.map((l) => ({
    inputDim: l.inputDim,
    outputDim: l.outputDim,
    weight: Float32Array.from(l.weight.dataSync()),
    bias: Float32Array.from(l.bias.dataSync()),
    activation: l.activation,
  }));
}

/** Forward pass of exported layers in plain JS (float64 accumulation); used for checks and tiny batches. */
export function forwardDenseLayers(layers: readonly DenseLayerExport[], x: Float32Array, rows: number): Float32Array {
  let cur = x;
  for (const l of layers) {
    const out = new Float32Array(rows * l.outputDim);
    for (let r = 0; r < rows; r++) {
      for (let j = 0; j < l.outputDim; j++) {
        let s = l.bias[j] as number;
        for (let k = 0; k < l.inputDim; k++) s += (cur[r * l.inputDim + k] as number) * (l.weight[k * l.outputDim + j] as number);
        out[r * l.outputDim + j] = l.activation === 'relu' ? Math.max(0, s) : l.activation === 'tanh' ? Math.tanh(s) : s;
      }
    }
    cur = out;
  }
  return cur;
}

/** What gradientStep needs of an optimiser; tf.train.* optimisers and DenseAdam both fit. */
export interface DenseOptimizer {
  applyGradients(gradients: tf.NamedTensorMap): void;
  dispose(): void;
}

export interface DenseAdamOptions {
  learningRate: number;
  beta1?: number;
  beta2?: number;
  epsilon?: number;
}

/**
 * Adam for dense tfjs variables. tf.train.adam would do, except that each AdamOptimizer leaves two
 * scalar tensors behind after dispose() (measured with tfjs-core 4.22), and a server that retrains
 * in-process should not grow per fit.
 */
export class DenseAdam implements DenseOptimizer {
  /** mutable so a schedule (e.g. a cut on a validation plateau) can lower it mid-training */
  learningRate: number;
  readonly beta1: number;
  readonly beta2: number;
  readonly epsilon: number;
  private step = 0;
  private readonly moments = new Map<string, { m: tf.Variable; v: tf.Variable }>();

  constructor(options: DenseAdamOptions) {
    this.learningRate = options.learningRate;
    this.beta1 = options.beta1 ?? 0.9;
    this.beta2 = options.beta2 ?? 0.999;
    this.epsilon = options.epsilon ?? 1e-7;
  }

  applyGradients(gradients: tf.NamedTensorMap): void {
    this.step++;
    const { beta1, beta2, epsilon } = this;
    // Bias corrections folded into the step size, computed in JS: one scalar per step, no state tensors.
    const lr = (this.learningRate * Math.sqrt(1 - Math.pow(beta2, this.step))) / (1 - Math.pow(beta1, this.step));
    for (const [name, g] of Object.entries(gradients)) {
      const variable = tf.engine().registeredVariables[name];
      if (variable === undefined || g === undefined) continue;
      let state = this.moments.get(name);
      if (state === undefined) {
        state = tf.tidy(() => ({ m: tf.variable(tf.zerosLike(variable), false), v: tf.variable(tf.zerosLike(variable), false) }));
        this.moments.set(name, state);
      }
      const { m, v } = state;
      tf.tidy(() => {
        const mNew = tf.add(tf.mul(m, beta1), tf.mul(g, 1 - beta1));
        const vNew = tf.add(tf.mul(v, beta2), tf.mul(tf.square(g), 1 - beta2));
        m.assign(mNew);
        v.assign(vNew);
        variable.assign(tf.sub(variable, tf.div(tf.mul(mNew, lr), tf.add(tf.sqrt(vNew), epsilon))));
      });
    }
  }

  dispose(): void {
    for (const { m, v } of this.moments.values()) {
      m.dispose();
      v.dispose();
    }
    this.moments.clear();
  }
}

export interface GradientStepOptions {
  /** gathered embedding batches (and any other inputs whose gradient is wanted); the caller owns them */
  inputs: readonly tf.Tensor[];
  /** dense variables the optimiser updates */
  variables: readonly tf.Variable[];
  optimizer: DenseOptimizer | tf.Optimizer;
  /** builds the scalar loss from `inputs` and the variables */
  loss: (inputs: readonly tf.Tensor[]) => tf.Scalar;
}

export interface GradientStepResult {
  loss: number;
  /** d loss / d inputs[k], same shape, row-major; zeros where an input does not affect the loss */
  inputGrads: Float32Array[];
}

/**
 * One training step: a single backward pass yields gradients w.r.t. both the dense variables
 * (applied here with `optimizer`) and the input tensors (returned, for the sparse tables). Every
 * intermediate and gradient tensor is disposed before returning, so the tensor count does not
 * grow from step to step.
 */
export function gradientStep(options: GradientStepOptions): GradientStepResult {
  const { inputs, variables, optimizer, loss } = options;
  ensureGradients();
  const xs: tf.Tensor[] = [...inputs, ...variables];
  // One tape, both kinds of gradient: tf.variableGrads and tf.grads would each replay the forward.
  const { value, grads } = tf.tidy(() => tf.engine().gradients(() => loss(inputs), xs, undefined, true));
  try {
    const named: tf.NamedTensorMap = {};
    variables.forEach((v, k) => {
      const g = grads[inputs.length + k];
      if (g != null) named[v.name] = g;
    });
    if (Object.keys(named).length > 0) {
      // tfjs types the map as variables though what it takes, and what everyone passes, are gradients.
      if (optimizer instanceof tf.Optimizer) optimizer.applyGradients(named as unknown as Parameters<tf.Optimizer['applyGradients']>[0]);
      else optimizer.applyGradients(named);
    }
    const inputGrads = inputs.map((x, k) => {
      const g = grads[k];
      return g == null ? new Float32Array(x.size) : Float32Array.from(g.dataSync() as Float32Array);
    });
    return { loss: (value.dataSync() as Float32Array)[0] as number, inputGrads };
  } finally {
    value.dispose();
    for (const g of grads) if (g != null) g.dispose();
  }
}
