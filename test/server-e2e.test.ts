/**
 * Trainer bundle → node server → events → online update → model swap → restart, all through
 * app.request() on the real Recommender (onnxruntime-node, cpu) and the SQLite store.
 */
import { mkdtemp, readFile, rm, writeFile, cp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createNodeApp, silentLogger, type NodeAppOptions } from '../packages/server/src/node.js';
import { type Csr, type Dataset, IdMap } from '../packages/trainer/src/data/dataset.js';
import { writeBundle } from '../packages/trainer/src/export/index.js';
import type { MatrixFactorizationExport } from '../packages/trainer/src/export/types.js';

const USERS = 12;
const ITEMS = 60;
const DIM = 4;
const keys = { secret: 'sk_e2e', publishable: 'pk_e2e' };

/** Users and items in DIM taste clusters: item i belongs to cluster i % DIM, user u likes u % DIM. */
function fixture(): { dataset: Dataset; csr: Csr; spec: MatrixFactorizationExport } {
  const histories = Array.from({ length: USERS }, (_, u) => [u % DIM, (u % DIM) + DIM]);
  const flat = histories.flat();
  const indptr = new Int32Array(USERS + 1);
  histories.forEach((h, u) => (indptr[u + 1] = (indptr[u] ?? 0) + h.length));
  const oneHot = (n: number, cluster: (i: number) => number) =>
    Float32Array.from({ length: n * DIM }, (_, k) => (k % DIM === cluster(Math.floor(k / DIM)) ? 1 : 0));
  return {
    dataset: {
      name: 'clusters',
      users: IdMap.from(Array.from({ length: USERS }, (_, u) => `u${u}`)),
      items: IdMap.from(Array.from({ length: ITEMS }, (_, i) => `i${i}`)),
      interactions: {
        user: Int32Array.from(histories.flatMap((h, u) => h.map(() => u))),
        item: Int32Array.from(flat),
        value: new Float32Array(flat.length).fill(1),
        timestamp: new Float64Array(flat.length).fill(Number.NaN),
      },
    },
    csr: { rows: USERS, cols: ITEMS, indptr, indices: Int32Array.from(flat), values: new Float32Array(flat.length).fill(1) },
    spec: {
      kind: 'matrix-factorization',
      dim: DIM,
      userFactors: oneHot(USERS, (u) => u % DIM),
      itemFactors: oneHot(ITEMS, (i) => i % DIM),
      // A small popularity skew so the order inside a cluster is defined.
      itemBias: Float32Array.from({ length: ITEMS }, (_, i) => -i / 1000),
    },
  };
}

let root: string;
let models: string;
let db: string;

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'tm-server-e2e-'));
  models = join(root, 'models');
  db = join(root, 'tastemaker.db');
  const { dataset, csr, spec } = fixture();
  await writeBundle(join(models, 'v1'), { modelId: 'bpr', spec, dataset, trainCsr: csr, trainerVersion: '0.0.0-test' });
  const flipped = { ...spec, itemBias: Float32Array.from({ length: ITEMS }, (_, i) => i / 1000) };
  await writeBundle(join(models, 'v2'), { modelId: 'bpr', spec: flipped, dataset, trainCsr: csr, trainerVersion: '0.0.0-test' });
  // v3: a copy of v1 with one byte of its item vectors changed after the manifest was sealed.
  await cp(join(models, 'v1'), join(models, 'v3-tampered'), { recursive: true });
  const f32 = await readFile(join(models, 'v3-tampered', 'items.f32'));
  f32[0] = (f32[0] ?? 0) ^ 0xff;
  await writeFile(join(models, 'v3-tampered', 'items.f32'), f32);
});

afterAll(async () => {
  await rm(root, { recursive: true, force: true });
});

const options = (): NodeAppOptions => ({
  bundle: join(models, 'v1'),
  modelsDir: models,
  db,
  keys,
  device: 'cpu',
  index: 'exact',
  logger: silentLogger,
  processMetrics: false,
  policies: {
    thompson: { kind: 'thompson', scoreWeight: 1, propensityDraws: 16 },
    linucb: { kind: 'linucb', mode: 'shared', features: 'product' },
    greedy: { kind: 'greedy' },
  },
});

function caller(app: Awaited<ReturnType<typeof createNodeApp>>['app']) {
  return async (method: string, path: string, body?: unknown, key = keys.secret) => {
    const res = await app.request(path, {
      method,
      headers: { authorization: `Bearer ${key}`, ...(body !== undefined ? { 'content-type': 'application/json' } : {}) },
      ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
    });
    return { status: res.status, body: (await res.json()) as Record<string, unknown> & { items?: { itemId: string; propensity: number }[] } };
  };
}

describe('server end to end on a trainer bundle', () => {
  it('recommends, learns from events, swaps models, refuses a tampered one and keeps it all across a restart', async () => {
    const first = await createNodeApp(options());
    const call = caller(first.app);

    // u1 likes cluster 1: the greedy policy serves the model's order, minus what u1 has seen.
    const greedy = await call('POST', '/v1/recommend', { userId: 'u1', k: 3, policy: 'greedy' }, keys.publishable);
    expect(greedy.status).toBe(200);
    expect(greedy.body.model).toMatch(/^bpr@[0-9a-f]{12}$/);
    expect(greedy.body.items?.map((i) => i.itemId)).toEqual(['i9', 'i13', 'i17']);

    // LinUCB gets features from the bundle's item vectors; its slate still comes from the candidates.
    const lin = await call('POST', '/v1/recommend', { userId: 'u1', k: 3, policy: 'linucb' }, keys.publishable);
    expect(lin.status).toBe(200);
    expect(lin.body.items).toHaveLength(3);
    expect(lin.body.items?.every((i) => i.propensity === 1)).toBe(true);

    const ts = await call('POST', '/v1/recommend', { userId: 'u1', k: 3 }, keys.publishable);
    expect(ts.body.policy).toBe('thompson');
    const clicked = ts.body.items?.[0]?.itemId as string;
    const events = await call(
      'POST',
      '/v1/events',
      {
        events: [
          { eventId: 'e1', type: 'impression', userId: 'u1', itemId: clicked, recommId: ts.body.recommId },
          { eventId: 'e2', type: 'click', userId: 'u1', itemId: clicked, recommId: ts.body.recommId },
          { eventId: 'e3', type: 'click', userId: 'u1', itemId: 'not-in-the-model' },
        ],
      },
      keys.publishable,
    );
    expect(events.body).toEqual({ accepted: 2, duplicates: 0, rejected: [{ index: 2, error: { code: 'NOT_FOUND', message: 'Unknown item "not-in-the-model"' } }] });
    expect((await first.store.getPolicyState('thompson')).get(`item:${clicked}`)?.json).toEqual([1, 1]);
    // The click joined u1's live history, so it is not recommended again.
    const again = await call('POST', '/v1/recommend', { userId: 'u1', k: 5, policy: 'greedy' });
    expect(again.body.items?.map((i) => i.itemId)).not.toContain(clicked);

    // Models: v1 active, v2 and the tampered v3 listed.
    const listed = await call('GET', '/v1/models');
    expect(listed.body.active).toBe('v1');
    expect((listed.body.models as { id: string }[]).map((m) => m.id).sort()).toEqual(['v1', 'v2', 'v3-tampered']);
    const refused = await call('POST', '/v1/models/v3-tampered/activate');
    expect(refused.status).toBe(422);
    expect((refused.body.error as { code: string; message: string }).code).toBe('BUNDLE_CHECKSUM_MISMATCH');
    expect((refused.body.error as { message: string }).message).toMatch(/items\.f32/);
    expect((await call('POST', '/v1/recommend', { userId: 'u2', k: 1, policy: 'greedy' })).body.items?.[0]?.itemId).toBe('i10');

    const swapped = await call('POST', '/v1/models/v2/activate');
    expect(swapped.status).toBe(200);
    expect(swapped.body.active).toBe('v2');
    // v2 reverses the order inside a cluster.
    expect((await call('POST', '/v1/recommend', { userId: 'u2', k: 1, policy: 'greedy' })).body.items?.[0]?.itemId).toBe('i58');
    await first.close();

    // Restart on the same database: the log, the attribution and the learned state are all there.
    const second = await createNodeApp(options());
    const call2 = caller(second.app);
    expect(await second.store.countEvents()).toBe(2);
    const replay = await call2('POST', '/v1/events', { events: [{ eventId: 'e2', type: 'click', userId: 'u1', itemId: clicked, recommId: ts.body.recommId }] });
    expect(replay.body).toEqual({ accepted: 0, duplicates: 1, rejected: [] });
    expect((await second.store.getPolicyState('thompson')).get(`item:${clicked}`)?.json).toEqual([1, 1]);
    expect((await call2('GET', '/readyz')).status).toBe(200);
    expect((await call2('GET', `/v1/users/u1`)).body.history).toEqual([clicked]);
    await second.close();
  });
});
