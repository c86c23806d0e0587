import { describe, expect, it } from 'vitest';
import { GraphBuilder } from './builder.js';
import { type GruParams, gru, gruForward, gruFromInputMajor } from './gru.js';
import { ORT_RUNTIMES, runModel } from './ort-runners.js';

function randomGru(inputSize: number, hiddenSize: number, linearBeforeReset: boolean, seed: number): GruParams {
  let s = seed;
  const rand = (): number => {
    s = (s * 1664525 + 1013904223) >>> 0;
    return (s / 2 ** 32 - 0.5) * 1.6;
  };
  const fill = (n: number): Float32Array => Float32Array.from({ length: n }, rand);
  return {
    inputSize,
    hiddenSize,
    w: fill(3 * hiddenSize * inputSize),
    r: fill(3 * hiddenSize * hiddenSize),
    bw: fill(3 * hiddenSize),
    br: fill(3 * hiddenSize),
    linearBeforeReset,
  };
}

function graphFor(p: GruParams, withLengths: boolean): Uint8Array {
  const g = new GraphBuilder('gru_test');
  const x = g.input('x', 'float32', ['batch', 'seq', p.inputSize]);
  const lengths = withLengths ? g.input('lengths', 'int64', ['batch']) : null;
  g.output(gru(g, x, lengths, p, 'gru'), 'state', 'float32', ['batch', p.hiddenSize]);
  return g.toModel();
}

function maxAbsDiff(a: Float32Array, b: Float32Array): number {
  expect(a.length).toBe(b.length);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs((a[i] ?? 0) - (b[i] ?? 0)));
  return m;
}

describe('ONNX GRU', () => {
  const batch = 4;
  const seq = 6;
  const inputSize = 5;
  const hiddenSize = 7;
  const x = Float32Array.from({ length: batch * seq * inputSize }, (_, i) => Math.sin(i * 0.37) * 1.3);

  for (const linearBeforeReset of [true, false]) {
    it(`matches the JavaScript reference in onnxruntime-node (linear_before_reset=${linearBeforeReset ? 1 : 0}), full length`, async () => {
      const p = randomGru(inputSize, hiddenSize, linearBeforeReset, 11);
      const out = await runModel('node', graphFor(p, false), { x: { data: x, dims: [batch, seq, inputSize] } }, ['state']);
      expect(out.state?.dims).toEqual([batch, hiddenSize]);
      expect(maxAbsDiff(out.state?.data ?? new Float32Array(), gruForward(p, x, batch, seq))).toBeLessThanOrEqual(1e-5);
    });

    it.each(ORT_RUNTIMES)(`stops each right-padded row at its length, including 0 (linear_before_reset=${linearBeforeReset ? 1 : 0}, %s)`, async (runtime) => {
      const p = randomGru(inputSize, hiddenSize, linearBeforeReset, 23);
      const lengths = [6, 3, 0, 1];
      // Garbage in the padding must not change the result.
      const padded = Float32Array.from(x);
      lengths.forEach((len, b) => {
        for (let t = len; t < seq; t++) for (let k = 0; k < inputSize; k++) padded[(b * seq + t) * inputSize + k] = 100 + t + k;
      });
      const out = await runModel(
        runtime,
        graphFor(p, true),
        {
          x: { data: padded, dims: [batch, seq, inputSize] },
          lengths: { data: BigInt64Array.from(lengths, BigInt), dims: [batch] },
        },
        ['state'],
      );
      const got = out.state?.data ?? new Float32Array();
      const want = gruForward(p, x, batch, seq, lengths);
      expect(maxAbsDiff(got, want)).toBeLessThanOrEqual(1e-5);
      // Row 1 (length 3) equals running only its first 3 steps.
      const row1 = gruForward(p, x.subarray(seq * inputSize, seq * inputSize + 3 * inputSize), 1, 3);
      expect(maxAbsDiff(got.subarray(hiddenSize, 2 * hiddenSize), row1)).toBeLessThanOrEqual(1e-5);
      // Length 0 leaves the zero initial state.
      expect([...got.subarray(2 * hiddenSize, 3 * hiddenSize)].every((v) => v === 0)).toBe(true);
    });
  }

  it('converts input-major (x · W) weights by transposing each gate block', () => {
    const p = randomGru(3, 2, true, 5);
    const kernel = new Float32Array(3 * 6);
    const recurrentKernel = new Float32Array(2 * 6);
    for (let j = 0; j < 6; j++) {
      for (let k = 0; k < 3; k++) kernel[k * 6 + j] = p.w[j * 3 + k] ?? 0;
      for (let k = 0; k < 2; k++) recurrentKernel[k * 6 + j] = p.r[j * 2 + k] ?? 0;
    }
    const q = gruFromInputMajor({ inputSize: 3, hiddenSize: 2, kernel, recurrentKernel, inputBias: p.bw, recurrentBias: p.br, linearBeforeReset: true });
    expect([...q.w]).toEqual([...p.w]);
    expect([...q.r]).toEqual([...p.r]);
  });

  it('rejects weights of the wrong size with a clear error', () => {
    const p = randomGru(3, 2, true, 5);
    const g = new GraphBuilder('bad');
    const x = g.input('x', 'float32', ['batch', 'seq', 3]);
    expect(() => gru(g, x, null, { ...p, r: new Float32Array(5) }, 'gru')).toThrow(/r has 5 values; input 3, hidden 2 needs 12/);
  });
});
