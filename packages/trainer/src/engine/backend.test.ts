import * as tf from '@tensorflow/tfjs-core';
import { describe, expect, it } from 'vitest';
import { BACKEND_NAMES, initBackend } from './backend.js';

describe('initBackend', () => {
  it('picks the fastest available backend and reports what it tried', async () => {
    const info = await initBackend();
    expect(['tensorflow-gpu', 'tensorflow', 'wasm', 'cpu']).toContain(info.name);
    expect(info.tried.at(-1)).toEqual({ name: info.name });
    // Packages absent here are reported with why, not silently skipped.
    for (const t of info.tried.slice(0, -1)) expect(t.error).toBeTruthy();
    expect(tf.getBackend()).toBe(info.name.startsWith('tensorflow') ? 'tensorflow' : info.name);
    const y = tf.matMul(tf.tensor2d([1, 2], [1, 2]), tf.tensor2d([3, 4], [2, 1]));
    expect(Array.from(y.dataSync())).toEqual([11]);
  });

  it('is idempotent', async () => {
    const a = await initBackend('auto');
    const b = await initBackend();
    expect(b).toBe(a);
  });

  it('honours a preference and switches back', async () => {
    const cpu = await initBackend('cpu');
    expect(cpu.name).toBe('cpu');
    expect(tf.getBackend()).toBe('cpu');
    const wasm = await initBackend('wasm');
    expect(wasm.name).toBe('wasm');
    expect(tf.getBackend()).toBe('wasm');
  });

  it('rejects an unknown preference listing the valid ones', async () => {
    const error: unknown = await initBackend('webgl-turbo').catch((e: unknown) => e);
    expect(error).toMatchObject({ code: 'INVALID_CONFIG' });
    const message = (error as Error).message;
    for (const name of ['wasm', 'cpu', 'tensorflow', 'tensorflow-gpu']) expect(message).toContain(`"${name}"`);
    expect(BACKEND_NAMES).toContain('auto');
  });

  it('fails clearly when a preferred backend is not installed', async () => {
    const auto = await initBackend();
    if (auto.tried.find((t) => t.name === 'tensorflow')?.error === undefined) return; // tfjs-node present here
    const error: unknown = await initBackend('tensorflow').catch((e: unknown) => e);
    expect(error).toMatchObject({ code: 'INVALID_CONFIG' });
    expect((error as Error).message).toMatch(/tensorflow.*not available.*Valid values/s);
    // The previous backend keeps running.
    expect(tf.getBackend()).toBe(auto.name);
  });
});
