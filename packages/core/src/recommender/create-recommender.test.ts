import { mkdtemp, readdir, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { memorySource } from '../bundle/source.js';
import { tinyBundle, type TinyBundle } from '../testing/bundle-fixture.js';
import { createRecommender } from './create-recommender.js';

describe('createRecommender (node)', () => {
  let dir: string;
  let b: TinyBundle;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'tm-bundle-'));
    b = await tinyBundle({ users: 20, items: 1500, dim: 16 });
    for (const [name, bytes] of Object.entries(b.files)) await writeFile(join(dir, name), bytes);
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('loads a directory, picks hnsw above the auto threshold, and agrees with exact search', async () => {
    const auto = await createRecommender({ bundle: dir, device: 'cpu' });
    const exact = await createRecommender({ bundle: dir, device: 'cpu', index: 'exact' });
    expect(auto.info().index?.kind).toBe('hnsw');
    expect(exact.info().index?.kind).toBe('exact');
    for (const userId of ['user-0', 'user-5', 'user-11']) {
      const a = await auto.recommend({ userId, k: 10 });
      const e = await exact.recommend({ userId, k: 10 });
      expect(a.items.map((i) => i.itemId)).toEqual(e.items.map((i) => i.itemId));
    }
    await Promise.all([auto.dispose(), exact.dispose()]);
  });

  it('picks exact for small catalogues and accepts any BundleSource', async () => {
    const small = await tinyBundle();
    const rec = await createRecommender({ bundle: memorySource(small.files), device: 'auto' });
    expect(rec.info().index?.kind).toBe('exact');
    expect(rec.info().inference.device).toBe('auto');
    await rec.dispose();
  });

  it('refuses unknown devices and index kinds before reading the bundle', async () => {
    await expect(createRecommender({ bundle: '/does/not/exist', device: 'gpu' })).rejects.toThrow(
      'Invalid device: "gpu". Valid values: "auto", "cpu", "cuda".',
    );
    await expect(createRecommender({ bundle: '/does/not/exist', index: 'faiss' })).rejects.toThrow(
      'Invalid index: "faiss". Valid values: "auto", "hnsw", "exact".',
    );
    await expect(createRecommender({ bundle: '/does/not/exist' })).rejects.toMatchObject({ code: 'BUNDLE_INVALID', file: 'manifest.json' });
  });

  it('caches the HNSW graph next to the bundle and reuses it', async () => {
    const first = await createRecommender({ bundle: dir, device: 'cpu', index: 'hnsw', indexCache: true });
    const cached = await readdir(join(dir, '.tastemaker-cache'));
    expect(cached).toHaveLength(1);
    expect(cached[0]).toMatch(/^hnsw-[0-9a-f]{16}-ip-m32-efc400-s100\.bin$/);
    const cacheFile = join(dir, '.tastemaker-cache', cached[0] as string);
    const written = (await stat(cacheFile)).mtimeMs;
    const second = await createRecommender({ bundle: dir, device: 'cpu', index: 'hnsw', indexCache: true });
    const req = { userId: 'user-3', k: 10 };
    expect((await second.recommend(req)).items).toEqual((await first.recommend(req)).items);
    expect((await stat(cacheFile)).mtimeMs).toBe(written); // read, not rebuilt
    await Promise.all([first.dispose(), second.dispose()]);
  });
});
