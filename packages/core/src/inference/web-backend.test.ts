import { describe, expect, it } from 'vitest';
import { userTowerOnnx } from '../testing/tiny-onnx.js';
import { createWebBackend, WEB_DEVICES } from './web-backend.js';

const graph = userTowerOnnx({ users: 2, items: 3, dim: 2, userVectors: Float32Array.from([1, 0, 0, 1]), itemVectors: Float32Array.from([1, 1, 2, 2, 3, 3]) });

describe('web inference backend (onnxruntime-web)', () => {
  it('has one device table: auto tries webgpu then wasm', () => {
    expect(WEB_DEVICES).toEqual({ auto: ['webgpu', 'wasm'], webgpu: ['webgpu'], wasm: ['wasm'] });
    expect(() => createWebBackend({ device: 'cuda' })).toThrow('Invalid device: "cuda". Valid values: "auto", "webgpu", "wasm".');
  });

  it('runs a graph on wasm', async () => {
    const session = await createWebBackend({ device: 'auto' }).createSession(graph, 'user_tower');
    expect(session.provider).toBe('wasm');
    const out = await session.run({
      user_index: { dtype: 'int64', data: BigInt64Array.from([1n]), dims: [1] },
      history: { dtype: 'int64', data: BigInt64Array.from([2n]), dims: [1, 1] },
    });
    expect([...(out.user_embedding?.data ?? [])]).toEqual([3, 4]);
    await session.dispose();
  });

  it('fails DEVICE_UNAVAILABLE for webgpu without navigator.gpu', async () => {
    const error = await createWebBackend({ device: 'webgpu' })
      .createSession(graph, 'user_tower')
      .catch((e: unknown) => e);
    expect(error).toMatchObject({ code: 'DEVICE_UNAVAILABLE', details: { tried: [{ provider: 'webgpu', reason: 'navigator.gpu is not available in this runtime' }] } });
  });
});
