import { describe, expect, it } from 'vitest';
import { BundleError } from '@tastemaker/core/edge';
import type { ModelCatalog } from '../../context.js';
import { createTestApp, testSource, type TestSource } from '../../testing/test-app.js';

function catalog(sources: Record<string, () => Promise<TestSource>>): ModelCatalog {
  return {
    list: async () => Object.keys(sources).map((id) => ({ id })),
    load: (id) => (sources[id] as () => Promise<TestSource>)(),
  };
}

describe('/v1/models', () => {
  it('lists models, the active one first with its info', async () => {
    const { call } = createTestApp({ models: catalog({ v1: async () => testSource(), v2: async () => testSource() }), modelId: 'v1' });
    expect(await (await call('GET', '/v1/models')).json()).toEqual({
      active: 'v1',
      models: [
        { id: 'v1', active: true, items: 20 },
        { id: 'v2', active: false },
      ],
    });
  });

  it('swaps atomically: requests in flight finish on the old model, which is disposed after them', async () => {
    let release: () => void = () => {};
    const held = new Promise<void>((r) => (release = r));
    let holding = false;
    const v1 = testSource({ modelId: 'm1', beforeAnswer: () => (holding ? held : Promise.resolve()) });
    const v2 = testSource({ modelId: 'm2', items: ['new-0', 'new-1'] });
    const { call } = createTestApp({ recommender: v1, modelId: 'v1', models: catalog({ v1: async () => v1, v2: async () => v2 }) });

    holding = true;
    const slow = call('POST', '/v1/recommend', { userId: 'u', k: 1 });
    await new Promise((r) => setTimeout(r, 5));
    const activate = await call('POST', '/v1/models/v2/activate');
    expect(activate.status).toBe(200);
    expect(await activate.json()).toMatchObject({ active: 'v2', previous: 'v1' });
    expect(v1.disposed).toBe(false);

    const fresh = (await (await call('POST', '/v1/recommend', { userId: 'u', k: 1 })).json()) as { model: string; items: { itemId: string }[] };
    expect(fresh.model).toBe('m2');
    expect(fresh.items[0]?.itemId).toBe('new-0');
    // Events now check items against the new model.
    const events = (await (await call('POST', '/v1/events', { events: [{ eventId: 'e', type: 'click', userId: 'u', itemId: 'new-1' }] })).json()) as { accepted: number };
    expect(events.accepted).toBe(1);

    release();
    const old = (await (await slow).json()) as { model: string };
    expect(old.model).toBe('m1');
    expect(v1.disposed).toBe(true);
  });

  it('refuses a bad bundle with 422 naming the problem, and keeps serving the old model', async () => {
    const { call, logger } = createTestApp({
      modelId: 'good',
      models: catalog({
        good: async () => testSource(),
        broken: async () => {
          throw new BundleError('BUNDLE_CHECKSUM_MISMATCH', 'items.f32: sha256 mismatch', { file: 'items.f32' });
        },
        weird: async () => {
          throw new Error('onnxruntime: protobuf parsing failed');
        },
      }),
    });
    const res = await call('POST', '/v1/models/broken/activate');
    expect(res.status).toBe(422);
    expect(await res.json()).toEqual({ error: { code: 'BUNDLE_CHECKSUM_MISMATCH', message: 'Model "broken" refused: items.f32: sha256 mismatch' } });
    const weird = await call('POST', '/v1/models/weird/activate');
    expect(weird.status).toBe(422);
    expect(((await weird.json()) as { error: { code: string } }).error.code).toBe('BUNDLE_INVALID');
    expect(logger.lines.some((l) => l.message.startsWith('model refused'))).toBe(true);

    expect(((await (await call('GET', '/v1/models')).json()) as { active: string }).active).toBe('good');
    expect((await call('POST', '/v1/recommend', { userId: 'u' })).status).toBe(200);
    expect((await call('POST', '/v1/models/unknown/activate')).status).toBe(404);
  });

  it('404s activation when no model catalogue is configured', async () => {
    const { call } = createTestApp();
    const res = await call('POST', '/v1/models/x/activate');
    expect(res.status).toBe(404);
    expect(((await (await call('GET', '/v1/models')).json()) as { models: unknown[] }).models).toHaveLength(1);
  });
});
