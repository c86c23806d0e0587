import * as ort from 'onnxruntime-node';
import { describe, expect, it } from 'vitest';
import { TastemakerError } from '../errors/index.js';
import { userTowerOnnx } from '../testing/tiny-onnx.js';
import { createNodeBackend, cudaUnavailableReason, NODE_DEVICES } from './node-backend.js';

const graph = userTowerOnnx({ users: 2, items: 3, dim: 2, userVectors: Float32Array.from([1, 0, 0, 1]), itemVectors: Float32Array.from([1, 1, 2, 2, 3, 3]) });
const feeds = {
  user_index: { dtype: 'int64', data: BigInt64Array.from([0n, 2n]), dims: [2] },
  history: { dtype: 'int64', data: BigInt64Array.from([0n, 3n, 1n, 2n]), dims: [2, 2] },
} as const;

describe('node inference backend', () => {
  it('has one device table: auto tries cuda then cpu', () => {
    expect(NODE_DEVICES).toEqual({ auto: ['cuda', 'cpu'], cpu: ['cpu'], cuda: ['cuda'] });
  });

  it('refuses an unknown device listing the valid ones', () => {
    let error: unknown;
    try {
      createNodeBackend({ device: 'tpu' });
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(TastemakerError);
    expect(error).toMatchObject({ code: 'INVALID_CONFIG', details: { valid: ['auto', 'cpu', 'cuda'] } });
    expect((error as Error).message).toBe('Invalid device: "tpu". Valid values: "auto", "cpu", "cuda".');
  });

  it('runs a graph on cpu and reports metadata', async () => {
    const session = await createNodeBackend({ device: 'cpu' }).createSession(graph, 'user_tower');
    expect(session.provider).toBe('cpu');
    expect(session.inputNames).toEqual(['user_index', 'history']);
    expect(session.outputMetadata?.[0]).toMatchObject({ name: 'user_embedding', dtype: 'float32' });
    const out = await session.run(feeds);
    expect(out.user_embedding?.dims).toEqual([2, 2]);
    expect([...(out.user_embedding?.data ?? [])]).toEqual([2, 1, 5, 5]);
    await session.dispose();
    await expect(session.run(feeds)).rejects.toMatchObject({ code: 'DISPOSED' });
  });

  const cudaMissing = cudaUnavailableReason(ort);
  it.runIf(cudaMissing !== undefined)('fails DEVICE_UNAVAILABLE naming what was tried when cuda is asked for and missing', async () => {
    const backend = createNodeBackend({ device: 'cuda' });
    const error = await backend.createSession(graph, 'user_tower').catch((e: unknown) => e);
    expect(error).toMatchObject({ code: 'DEVICE_UNAVAILABLE', details: { device: 'cuda', tried: [{ provider: 'cuda' }] } });
    expect((error as Error).message).toMatch(/^No execution provider for device "cuda" is available in onnxruntime-node\. Tried: cuda \(.+\)\.$/);
  });

  it.runIf(cudaMissing !== undefined)('auto falls back to cpu when cuda is missing', async () => {
    const session = await createNodeBackend({ device: 'auto' }).createSession(graph, 'user_tower');
    expect(session.provider).toBe('cpu');
    await session.dispose();
  });

  it('names the bad model rather than the device when cpu cannot load it', async () => {
    const error = await createNodeBackend({ device: 'cpu' })
      .createSession(Uint8Array.of(1, 2, 3), 'user_tower')
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(Error);
    expect(error).not.toMatchObject({ code: 'DEVICE_UNAVAILABLE' });
  });
});

describe('cudaUnavailableReason', () => {
  it('says why when the backend is not listed', () => {
    expect(cudaUnavailableReason({ listSupportedBackends: () => [{ name: 'cpu', bundled: true }] })).toMatch(/does not list the cuda backend/);
  });

  it('checks the provider library when listed', () => {
    const reason = cudaUnavailableReason({ listSupportedBackends: () => [{ name: 'cuda', bundled: false }] });
    if (reason !== undefined) expect(reason).toMatch(/providers_cuda|no CUDA provider/);
  });
});
