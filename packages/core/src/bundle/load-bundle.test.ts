import { describe, expect, it } from 'vitest';
import { BundleError } from '../errors/index.js';
import { sealBundle, tinyBundle, withManifest, type BundleFiles } from '../testing/bundle-fixture.js';
import { loadBundle, parseManifest } from './load-bundle.js';
import { memorySource } from './source.js';

async function refusal(files: BundleFiles): Promise<BundleError> {
  try {
    await loadBundle(memorySource(files));
  } catch (e) {
    expect(e).toBeInstanceOf(BundleError);
    return e as BundleError;
  }
  throw new Error('bundle was accepted');
}

describe('loadBundle', () => {
  it('loads a valid bundle with ids, vectors and history', async () => {
    const b = await tinyBundle({ users: 3, items: 10, dim: 4 });
    const loaded = await loadBundle(memorySource(b.files));
    expect(loaded.itemIds).toHaveLength(10);
    expect(loaded.userIds).toEqual(['user-0', 'user-1', 'user-2']);
    expect(loaded.itemEmbeddings).toEqual(b.itemVectors);
    expect(loaded.history.indptr).toHaveLength(4);
    expect([...loaded.history.indices]).toEqual(b.histories.flat());
    expect(loaded.userGraph.name).toBe('user_tower');
    expect(loaded.manifest.model.metric).toBe('ip');
    expect(loaded.manifestSha256).toMatch(/^[0-9a-f]{64}$/);
  });

  it('names each wrong manifest field', async () => {
    const b = await tinyBundle();
    const e = await refusal(
      withManifest(b.files, (m) => {
        (m.model as Record<string, unknown>).scoring = 'magic';
        delete m.users;
      }),
    );
    expect(e.code).toBe('BUNDLE_INVALID');
    expect(e.file).toBe('manifest.json');
    expect(e.message).toContain('model.scoring');
    expect(e.message).toContain('users');
    expect(e.details?.issues).toHaveLength(2);
  });

  it('refuses manifest.json that is not JSON, and a newer format version as unsupported', async () => {
    const b = await tinyBundle();
    const bad = { ...b.files, 'manifest.json': new TextEncoder().encode('{nope') };
    expect((await refusal(bad)).message).toMatch(/manifest\.json: not valid JSON/);
    const newer = await refusal(withManifest(b.files, (m) => (m.formatVersion = 99)));
    expect(newer.code).toBe('BUNDLE_UNSUPPORTED');
    expect(newer.message).toContain('formatVersion 99');
  });

  it('refuses a checksum mismatch naming the file', async () => {
    const b = await tinyBundle();
    const tampered = new Uint8Array(b.files['user_tower.onnx'] as Uint8Array);
    tampered[tampered.length - 1] = (tampered[tampered.length - 1] as number) ^ 0xff;
    const e = await refusal({ ...b.files, 'user_tower.onnx': tampered });
    expect(e.code).toBe('BUNDLE_CHECKSUM_MISMATCH');
    expect(e.file).toBe('user_tower.onnx');
    expect(e.message).toMatch(/^user_tower\.onnx: sha256 is [0-9a-f]{64} but manifest\.json declares/);
  });

  it('refuses a size mismatch naming the file', async () => {
    const b = await tinyBundle();
    const longer = Uint8Array.from([...(b.files['items.json'] as Uint8Array), 32]);
    const e = await refusal({ ...b.files, 'items.json': longer });
    expect(e.code).toBe('BUNDLE_CHECKSUM_MISMATCH');
    expect(e.file).toBe('items.json');
    expect(e.message).toContain('declares');
  });

  it('refuses a missing file and a file referenced but not listed', async () => {
    const b = await tinyBundle();
    const { 'users.json': _gone, ...rest } = b.files;
    const missing = await refusal(rest);
    expect(missing.file).toBe('users.json');
    expect(missing.message).toContain('missing');
    const unlisted = await refusal(withManifest(b.files, (m) => delete (m.files as Record<string, unknown>)['items.f32']));
    expect(unlisted.file).toBe('items.f32');
    expect(unlisted.message).toContain('not listed in files');
  });

  it('refuses file names that escape the bundle', async () => {
    const b = await tinyBundle();
    const e = await refusal(
      withManifest(b.files, (m) => {
        const files = m.files as Record<string, unknown>;
        files['../secret'] = { sha256: '0'.repeat(64), bytes: 1 };
      }),
    );
    expect(e.file).toBe('../secret');
    expect(e.message).toContain('not a plain relative path');
  });

  it('checks items.f32 against items.count × dim', async () => {
    const b = await tinyBundle({ items: 10, dim: 4 });
    const files = await sealBundle({ ...b.files, 'items.f32': new Uint8Array(9 * 4 * 4) }, b.manifest);
    const e = await refusal(files);
    expect(e.file).toBe('items.f32');
    expect(e.message).toContain('items.count × items.dim × 4 = 10 × 4 × 4 = 160');
  });

  it('checks id lists against the declared counts', async () => {
    const b = await tinyBundle({ users: 3 });
    const files = await sealBundle({ ...b.files, 'users.json': new TextEncoder().encode('["a","b"]') }, b.manifest);
    const e = await refusal(files);
    expect(e.file).toBe('users.json');
    expect(e.message).toBe('users.json: holds 2 ids but users.count is 3');
    const dup = await sealBundle({ ...b.files, 'users.json': new TextEncoder().encode('["a","b","a"]') }, b.manifest);
    expect((await refusal(dup)).message).toContain('appears twice');
  });

  it('checks history CSR consistency', async () => {
    const b = await tinyBundle({ users: 3, items: 10 });
    const indices = new Uint32Array((b.files['history.indices.u32'] as Uint8Array).slice().buffer);
    const shortIndices = new Uint8Array(indices.slice(0, indices.length - 1).buffer);
    const e = await refusal(await sealBundle({ ...b.files, 'history.indices.u32': shortIndices }, b.manifest));
    expect(e.file).toBe('history.indptr.u32');
    expect(e.message).toContain('last row pointer');

    const outOfRange = indices.slice();
    outOfRange[0] = 10;
    const e2 = await refusal(await sealBundle({ ...b.files, 'history.indices.u32': new Uint8Array(outOfRange.buffer) }, b.manifest));
    expect(e2.file).toBe('history.indices.u32');
    expect(e2.message).toContain('outside items.count 10');

    const indptr = new Uint32Array(4);
    indptr.set([0, 3, 1, indices.length]);
    const e3 = await refusal(await sealBundle({ ...b.files, 'history.indptr.u32': new Uint8Array(indptr.buffer) }, b.manifest));
    expect(e3.message).toContain('decrease at user row 1');
  });

  it('refuses a bundle without the graph its scoring needs', async () => {
    const b = await tinyBundle();
    const e = await refusal(withManifest(b.files, (m) => ((m.model as Record<string, unknown>).scoring = 'scores')));
    expect(e.message).toContain('graphs has no "scorer"');
  });

  it('refuses an output dimension that disagrees with items.dim', async () => {
    const b = await tinyBundle({ dim: 8 });
    const e = await refusal(
      withManifest(b.files, (m) => {
        const g = (m.graphs as Record<string, { outputs: { shape: unknown[] }[] }>).user_tower;
        if (g?.outputs[0]) g.outputs[0].shape = ['batch', 5];
      }),
    );
    expect(e.file).toBe('user_tower.onnx');
    expect(e.message).toContain('dimension 5 but items.dim is 8');
  });
});

describe('parseManifest', () => {
  it('applies defaults', async () => {
    const b = await tinyBundle();
    const m = parseManifest(
      (
        withManifest(b.files, (x) => {
          const model = x.model as Record<string, unknown>;
          delete model.metric;
          delete model.maxHistory;
        })['manifest.json']
      ) as Uint8Array,
    );
    expect(m.model.metric).toBe('ip');
    expect(m.model.maxHistory).toBe(0);
  });
});
