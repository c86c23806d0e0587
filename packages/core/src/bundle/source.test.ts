import { describe, expect, it } from 'vitest';
import { BundleError } from '../errors/index.js';
import { tinyBundle } from '../testing/bundle-fixture.js';
import { loadBundle } from './load-bundle.js';
import { fetchSource, memorySource, type FetchLike } from './source.js';

describe('bundle sources', () => {
  it('memorySource serves strings and bytes and names missing files', async () => {
    const src = memorySource({ 'a.txt': 'hi', 'b.bin': Uint8Array.of(1, 2) }, 'mem://x');
    expect(new TextDecoder().decode(await src.read('a.txt'))).toBe('hi');
    expect([...(await src.read('b.bin'))]).toEqual([1, 2]);
    await expect(src.read('c')).rejects.toMatchObject({ code: 'BUNDLE_INVALID', file: 'c' });
    await expect(src.read('../a.txt')).rejects.toBeInstanceOf(BundleError);
  });

  it('fetchSource resolves names against the base URL and loads a bundle', async () => {
    const b = await tinyBundle();
    const requested: string[] = [];
    const fakeFetch: FetchLike = async (url) => {
      requested.push(url);
      const name = url.replace('https://cdn.example/models/m1/', '');
      const bytes = b.files[name];
      if (bytes === undefined) return { ok: false, status: 404, statusText: 'Not Found', arrayBuffer: async () => new ArrayBuffer(0) };
      return { ok: true, status: 200, statusText: 'OK', arrayBuffer: async () => bytes.slice().buffer };
    };
    const loaded = await loadBundle(fetchSource('https://cdn.example/models/m1', fakeFetch));
    expect(loaded.itemIds).toHaveLength(40);
    expect(requested[0]).toBe('https://cdn.example/models/m1/manifest.json');
    await expect(fetchSource('https://cdn.example/models/m1/', fakeFetch).read('nope.bin')).rejects.toMatchObject({
      file: 'nope.bin',
    });
  });

  it('fetchSource reports HTTP errors with the status', async () => {
    const src = fetchSource('https://x.example/', async () => ({ ok: false, status: 503, statusText: 'Busy', arrayBuffer: async () => new ArrayBuffer(0) }));
    await expect(src.read('manifest.json')).rejects.toThrow(/503 Busy/);
  });
});
