import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { initBackend } from './backend.js';
import { DenseAdam, Mlp, denseLayersToExport, forwardDenseLayers, glorotUniform, gradientStep } from './dense.js';
import { ensureGradients, matMul } from './gradients.js';
import { Rng } from './rng.js';

beforeAll(async () => {
  await initBackend('wasm');
});

function randomArray(n: number, rng: Rng, scale = 1): Float32Array {
  return Float32Array.from({ length: n }, () => rng.normal() * scale);
}

describe('Dense / Mlp', () => {
  it('initialises Glorot-uniform from the seed', () => {
    const w = glorotUniform(30, 10, new Rng(3));
    expect(w).toEqual(glorotUniform(30, 10, new Rng(3)));
    const limit = Math.sqrt(6 / 40);
    expect(w.every((v) => Math.abs(v) <= limit)).toBe(true);
    expect(Math.max(...w)).toBeGreaterThan(limit * 0.8);
  });

  it('exports [inputDim, outputDim] weights whose plain-JS forward matches tfjs', () => {
    const rng = new Rng(5);
    const mlp = new Mlp(
      6,
      [
        { units: 5, activation: 'relu' },
        { units: 4, activation: 'tanh' },
        { units: 3, activation: 'linear' },
      ],
      rng,
    );
    const x = randomArray(7 * 6, rng);
    const y = tf.tidy(() => mlp.apply(tf.tensor2d(x, [7, 6])));
    const layers = denseLayersToExport(mlp.layers);
    expect(layers.map((l) => [l.inputDim, l.outputDim, l.activation])).toEqual([
      [6, 5, 'relu'],
      [5, 4, 'tanh'],
      [4, 3, 'linear'],
    ]);
    expect(layers[0]?.weight.length).toBe(30);
    const js = forwardDenseLayers(layers, x, 7);
    const tfjs = y.dataSync();
    for (let i = 0; i < js.length; i++) expect(Math.abs((js[i] as number) - (tfjs[i] as number))).toBeLessThan(1e-5);
    y.dispose();
    mlp.dispose();
  });
});

describe('gradients', () => {
  it('matMul with transposes matches tf.matMul', () => {
    const rng = new Rng(9);
    const a = tf.tensor2d(randomArray(12, rng), [3, 4]);
    const b = tf.tensor2d(randomArray(20, rng), [5, 4]);
    const got = matMul(a, b, false, true);
    const want = tf.matMul(a, tf.transpose(b));
    const diff = tf.max(tf.abs(tf.sub(got, want))).dataSync()[0] as number;
    expect(diff).toBeLessThan(1e-6);
    tf.dispose([a, b, got, want]);
  });

  it('agree with finite differences through the ops the towers use', () => {
    ensureGradients();
    const rng = new Rng(11);
    const xv = randomArray(3 * 4, rng);
    const wv = randomArray(8 * 5, rng, 0.5);
    const iv = randomArray(4 * 5, rng);
    const lab = Float32Array.from([1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1, 0]);
    // concat → matmul+bias → relu/tanh → l2 norm → logits with transposed product → log-softmax CE
    const f = (x: tf.Tensor, w: tf.Tensor): tf.Scalar =>
      tf.tidy(() => {
        const h0 = tf.concat([x as tf.Tensor2D, tf.square(x as tf.Tensor2D)], 1);
        const h = tf.add(tf.tanh(tf.matMul(h0 as tf.Tensor2D, w as tf.Tensor2D)), tf.sum(tf.relu(tf.sub(x, 0.1)), 1, true));
        const n = tf.div(h, tf.maximum(tf.sqrt(tf.sum(tf.square(h), 1, true)), 1e-12));
        const items = tf.tensor2d(iv, [4, 5]);
        const logits = tf.div(matMul(n, items, false, true), 0.5);
        return tf.neg(tf.div(tf.sum(tf.mul(tf.logSoftmax(logits), tf.tensor2d(lab, [3, 4]))), 3)) as tf.Scalar;
      });
    const x = tf.tensor2d(xv, [3, 4]);
    const w = tf.tensor2d(wv, [8, 5]);
    const [gx, gw] = tf.grads((a: tf.Tensor, b: tf.Tensor) => f(a, b))([x, w]) as [tf.Tensor, tf.Tensor];
    const check = (values: Float32Array, shape: [number, number], grad: Float32Array, other: (t: tf.Tensor) => tf.Scalar) => {
      const eps = 1e-2;
      for (let i = 0; i < values.length; i++) {
        const plus = Float32Array.from(values);
        const minus = Float32Array.from(values);
        plus[i] = (plus[i] as number) + eps;
        minus[i] = (minus[i] as number) - eps;
        const tp = tf.tensor2d(plus, shape);
        const tm = tf.tensor2d(minus, shape);
        const lp = other(tp);
        const lm = other(tm);
        const numeric = ((lp.dataSync()[0] as number) - (lm.dataSync()[0] as number)) / (2 * eps);
        tf.dispose([tp, tm, lp, lm]);
        expect(Math.abs(numeric - (grad[i] as number))).toBeLessThan(2e-3 + 2e-2 * Math.abs(numeric));
      }
    };
    check(xv, [3, 4], gx.dataSync() as Float32Array, (t) => f(t, w));
    check(wv, [8, 5], gw.dataSync() as Float32Array, (t) => f(x, t));
    tf.dispose([x, w, gx, gw]);
  });
});

describe('gradientStep', () => {
  it('returns d loss / d inputs from the pre-update weights and updates the dense variables', () => {
    const rng = new Rng(21);
    const mlp = new Mlp(4, [{ units: 3, activation: 'linear' }], rng);
    const before = denseLayersToExport(mlp.layers)[0];
    if (before === undefined) throw new Error('no layer');
    const xv = randomArray(2 * 4, rng);
    const c = Float32Array.from([1, -2, 0.5, 3, 0, -1]);
    const x = tf.tensor2d(xv, [2, 4]);
    const cT = tf.tensor2d(c, [2, 3]);
    const opt = tf.train.sgd(0.1);
    // loss = sum(mlp(x) ⊙ c): d/dx = c · Wᵀ, d/dW = xᵀ · c, d/db = column sums of c.
    const r = gradientStep({ inputs: [x], variables: mlp.variables(), optimizer: opt, loss: ([xi]) => tf.sum(tf.mul(mlp.apply(xi as tf.Tensor2D), cT)) });
    const gx = r.inputGrads[0] as Float32Array;
    for (let b = 0; b < 2; b++)
      for (let k = 0; k < 4; k++) {
        let want = 0;
        for (let j = 0; j < 3; j++) want += (c[b * 3 + j] as number) * (before.weight[k * 3 + j] as number);
        expect(gx[b * 4 + k]).toBeCloseTo(want, 5);
      }
    const after = denseLayersToExport(mlp.layers)[0];
    for (let j = 0; j < 3; j++) expect(after?.bias[j]).toBeCloseTo(-0.1 * ((c[j] as number) + (c[3 + j] as number)), 5);
    for (let k = 0; k < 4; k++)
      for (let j = 0; j < 3; j++) {
        const dw = (xv[k] as number) * (c[j] as number) + (xv[4 + k] as number) * (c[3 + j] as number);
        expect(after?.weight[k * 3 + j]).toBeCloseTo((before.weight[k * 3 + j] as number) - 0.1 * dw, 5);
      }
    tf.dispose([x, cT]);
    opt.dispose();
    mlp.dispose();
  });

  it('keeps the tensor count flat from step to step, and back to where it was after dispose', () => {
    const start = tf.memory().numTensors;
    const rng = new Rng(22);
    const mlp = new Mlp(8, [{ units: 16, activation: 'relu' }, { units: 4, activation: 'linear' }], rng);
    const opt = new DenseAdam({ learningRate: 0.01 });
    const step = () => {
      const x = tf.tensor2d(randomArray(32 * 8, rng), [32, 8]);
      const r = gradientStep({ inputs: [x], variables: mlp.variables(), optimizer: opt, loss: ([xi]) => tf.mean(tf.square(mlp.apply(xi as tf.Tensor2D))) });
      x.dispose();
      return r.loss;
    };
    step(); // Adam creates its moment variables on the first step
    const count = tf.memory().numTensors;
    for (let i = 0; i < 5; i++) step();
    expect(tf.memory().numTensors).toBe(count);
    opt.dispose();
    mlp.dispose();
    expect(tf.memory().numTensors).toBe(start);
  });
});

describe('DenseAdam', () => {
  it('matches a hand computation over two steps', () => {
    const w = tf.variable(tf.tensor1d([1, -2]));
    const opt = new DenseAdam({ learningRate: 0.1, epsilon: 0 });
    const g1 = tf.tensor1d([0.5, -4]);
    opt.applyGradients({ [w.name]: g1 });
    // Step 1: m̂ = g, v̂ = g², so each weight moves by lr * sign(g).
    const w1 = Array.from(w.dataSync());
    expect(w1[0]).toBeCloseTo(0.9, 6);
    expect(w1[1]).toBeCloseTo(-1.9, 6);
    const g2 = tf.tensor1d([1, 0]);
    opt.applyGradients({ [w.name]: g2 });
    const m = 0.9 * 0.05 + 0.1 * 1;
    const v = 0.999 * 0.001 * 0.25 + 0.001 * 1;
    const want = 0.9 - (0.1 * (m / (1 - 0.81))) / Math.sqrt(v / (1 - 0.999 ** 2));
    expect(w.dataSync()[0]).toBeCloseTo(want, 5);
    tf.dispose([g1, g2]);
    opt.dispose();
    w.dispose();
  });
});
