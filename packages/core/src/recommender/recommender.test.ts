import { describe, expect, it } from 'vitest';
import { memorySource } from '../bundle/source.js';
import { BundleError, TastemakerError } from '../errors/index.js';
import { createNodeBackend } from '../inference/node-backend.js';
import { createWebBackend } from '../inference/web-backend.js';
import { ExactIndex } from '../retrieval/exact-index.js';
import { expectedUserVector, sealBundle, tinyBundle, withManifest, type TinyBundle } from '../testing/bundle-fixture.js';
import { createRecommenderFromSource, type Recommender } from './recommender.js';

const backend = createNodeBackend({ device: 'cpu' });
const dim = 8;

async function open(b: TinyBundle): Promise<Recommender> {
  return createRecommenderFromSource({ source: memorySource(b.files), backend });
}

/** Ground truth: rank all items by dot(expected user vector, item), minus excluded rows. */
function truth(b: TinyBundle, userRow: number | undefined, history: number[], excluded: Set<number>, k: number) {
  const u = expectedUserVector(b, dim, userRow, history);
  const exact = new ExactIndex(b.itemVectors, dim);
  return exact.search(u, k, excluded).map((h) => ({ itemId: `item-${h.row}`, score: h.score }));
}

function expectSameItems(got: { itemId: string; score: number }[], want: { itemId: string; score: number }[]) {
  expect(got.map((i) => i.itemId)).toEqual(want.map((i) => i.itemId));
  got.forEach((item, i) => expect(item.score).toBeCloseTo(want[i]?.score as number, 4));
}

describe('Recommender on an embedding bundle', () => {
  it('recommends for a known user from their training history, excluding what they saw', async () => {
    const b = await tinyBundle();
    const rec = await open(b);
    const seen = b.histories[2] as number[];
    const res = await rec.recommend({ userId: 'user-2', k: 5 });
    expect(res.model).toMatch(/^tiny@[0-9a-f]{12}$/);
    expectSameItems(res.items, truth(b, 2, seen, new Set(seen), 5));
    await rec.dispose();
  });

  it('appends a given history to a known user and honours exclude / excludeSeen', async () => {
    const b = await tinyBundle();
    const rec = await open(b);
    const seen = [...(b.histories[1] as number[]), 7, 9];
    const res = await rec.recommend({ userId: 'user-1', history: ['item-7', 'no-such-item', 'item-9'], k: 4, exclude: ['item-0'] });
    expectSameItems(res.items, truth(b, 1, seen, new Set([...seen, 0]), 4));
    const withSeen = await rec.recommend({ userId: 'user-1', history: ['item-7', 'item-9'], k: 4, excludeSeen: false });
    expectSameItems(withSeen.items, truth(b, 1, seen, new Set(), 4));
    await rec.dispose();
  });

  it('serves unknown users and anonymous histories as user_index = users.count', async () => {
    const b = await tinyBundle();
    const rec = await open(b);
    const anon = await rec.recommend({ history: ['item-3', 'item-4'], k: 3 });
    expectSameItems(anon.items, truth(b, undefined, [3, 4], new Set([3, 4]), 3));
    const stranger = await rec.recommend({ userId: 'nobody', history: ['item-3', 'item-4'], k: 3 });
    expect(stranger.items).toEqual(anon.items);
    // An unknown user without history gets the graph's cold-start vector (here zero, so ties by row).
    const cold = await rec.recommend({ userId: 'nobody', k: 2 });
    expect(cold.items).toHaveLength(2);
    await rec.dispose();
  });

  it('feeds only the most recent maxHistory items', async () => {
    const b = await tinyBundle({ maxHistory: 2 });
    const rec = await open(b);
    const res = await rec.recommend({ history: ['item-1', 'item-2', 'item-3'], k: 3 });
    expectSameItems(res.items, truth(b, undefined, [2, 3], new Set([1, 2, 3]), 3));
    await rec.dispose();
  });

  it('recommendBatch answers like recommend, in one run', async () => {
    const b = await tinyBundle();
    const rec = await open(b);
    const requests = [{ userId: 'user-0' }, { history: ['item-5'] }, { userId: 'user-3', history: ['item-1', 'item-2'], k: 2 }];
    const batch = await rec.recommendBatch(requests);
    const single = await Promise.all(requests.map((r) => rec.recommend(r)));
    expect(batch).toHaveLength(3);
    batch.forEach((res, i) => expectSameItems(res.items, single[i]?.items ?? []));
    expect(await rec.recommendBatch([])).toEqual([]);
    await rec.dispose();
  });

  it('validates requests', async () => {
    const rec = await open(await tinyBundle());
    for (const k of [0, -1, 1.5, Number.NaN, '3']) {
      await expect(rec.recommend({ userId: 'user-0', k: k as number })).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' });
    }
    await expect(rec.recommend({})).rejects.toThrow('Give a userId, a history, or both');
    await expect(rec.recommend({ history: 'item-1' as unknown as string[] })).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' });
    await expect(rec.recommendBatch([{ userId: 'user-0' }, { k: 0, userId: 'x' }])).rejects.toThrow(/\(request 1\)/);
    expect((await rec.recommend({ userId: 'user-0', k: 1000 })).items.length).toBeLessThanOrEqual(40);
    await rec.dispose();
  });

  it('reports info and refuses every call after dispose', async () => {
    const rec = await open(await tinyBundle());
    const info = rec.info();
    expect(info).toMatchObject({
      model: { kind: 'tiny', scoring: 'embedding', metric: 'ip', maxHistory: 0 },
      items: { count: 40, dim: 8 },
      users: { count: 6 },
      graphs: ['user_tower'],
      index: { kind: 'exact', size: 40 },
      inference: { runtime: 'onnxruntime-node', device: 'cpu', provider: 'cpu' },
    });
    const pending = rec.recommend({ userId: 'user-0' });
    await rec.dispose();
    await expect(pending).resolves.toBeDefined();
    await expect(rec.recommend({ userId: 'user-0' })).rejects.toMatchObject({ code: 'DISPOSED' });
    await expect(rec.recommendBatch([{ userId: 'user-0' }])).rejects.toMatchObject({ code: 'DISPOSED' });
    expect(() => rec.info()).toThrow(TastemakerError);
    await rec.dispose(); // idempotent
  });

  it('uses a given index and checks it fits the bundle', async () => {
    const b = await tinyBundle();
    const own = new ExactIndex(b.itemVectors, dim);
    const rec = await createRecommenderFromSource({ source: memorySource(b.files), backend, index: () => own });
    expect(rec.info().index).toEqual({ kind: 'exact', size: 40 });
    await rec.dispose();
    await expect(
      createRecommenderFromSource({ source: memorySource(b.files), backend, index: new ExactIndex(b.itemVectors.subarray(0, 8 * dim), dim) }),
    ).rejects.toThrow(/holds 8 × 8 vectors but the bundle has 40 × 8/);
  });

  it('serves on onnxruntime-web (wasm) with the same answers', async () => {
    const b = await tinyBundle();
    const web = await createRecommenderFromSource({ source: memorySource(b.files), backend: createWebBackend({ device: 'wasm' }) });
    const node = await open(b);
    const req = { userId: 'user-4', history: ['item-8'], k: 6 };
    expectSameItems((await web.recommend(req)).items, (await node.recommend(req)).items);
    await Promise.all([web.dispose(), node.dispose()]);
  });
});

describe('Recommender on a scores bundle', () => {
  it('takes the exact top-k of the scorer output', async () => {
    const b = await tinyBundle({ scoring: 'scores' });
    const rec = await open(b);
    const seen = b.histories[0] as number[];
    const res = await rec.recommend({ userId: 'user-0', k: 5, exclude: ['item-1'] });
    expectSameItems(res.items, truth(b, 0, seen, new Set([...seen, 1]), 5));
    expect(rec.info().index).toBeUndefined();
    await rec.dispose();
  });
});

describe('graph signature check at load', () => {
  it('refuses declared inputs whose rank or dtype differs from the graph', async () => {
    const b = await tinyBundle();
    const files = withManifest(b.files, (m) => {
      const g = (m.graphs as Record<string, { inputs: { name: string }[] }>).user_tower;
      if (g?.inputs[0]) g.inputs[0].name = 'history';
      if (g?.inputs[1]) g.inputs[1].name = 'user_index';
    });
    const wrong = withManifest(b.files, (m) => {
      const g = (m.graphs as Record<string, { inputs: { name: string; dtype: string }[] }>).user_tower;
      if (g?.inputs[0]) g.inputs[0].dtype = 'int32';
    });
    await expect(open({ ...b, files })).rejects.toMatchObject({
      code: 'BUNDLE_SIGNATURE_MISMATCH',
      file: 'user_tower.onnx',
      message: expect.stringContaining('input history has rank 2 in the graph but 1 in the manifest'),
    });
    await expect(open({ ...b, files: wrong })).rejects.toThrow(/user_tower\.onnx: .*user_index is int64 in the graph but int32 in the manifest/);
  });

  it('refuses a graph whose real input name is not the declared one', async () => {
    const b = await tinyBundle({ inputNames: { userIndex: 'uid' } });
    const error = await open(b).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(BundleError);
    expect(error).toMatchObject({ code: 'BUNDLE_SIGNATURE_MISMATCH', file: 'user_tower.onnx' });
    expect((error as Error).message).toContain('not in graph: user_index, not declared: uid');
  });

  it('names the graph file when the runtime cannot parse it', async () => {
    const b = await tinyBundle();
    const files = await sealBundle({ ...b.files, 'user_tower.onnx': Uint8Array.of(8, 1, 99) }, b.manifest);
    await expect(open({ ...b, files })).rejects.toMatchObject({ code: 'BUNDLE_INVALID', file: 'user_tower.onnx' });
  });
});

describe('inputs core cannot feed', () => {
  it('are refused as unsupported when manifest and graph agree on them', async () => {
    const b = await tinyBundle({ inputNames: { userIndex: 'uid' } });
    const files = withManifest(b.files, (m) => {
      const g = (m.graphs as Record<string, { inputs: { name: string }[] }>).user_tower;
      if (g?.inputs[0]) g.inputs[0].name = 'uid';
    });
    await expect(open({ ...b, files })).rejects.toMatchObject({
      code: 'BUNDLE_UNSUPPORTED',
      file: 'user_tower.onnx',
      message: expect.stringContaining('inputs uid are not ones core can feed'),
    });
  });
});
