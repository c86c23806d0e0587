import { createHash } from 'node:crypto';
import { mkdir, mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { directorySource, loadBundle, manifestSchema } from '@tastemaker/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Csr, type Dataset, IdMap } from '../data/dataset.js';
import { Rng } from '../engine/rng.js';
import { int64Feed, padHistories, runModel } from '../onnx/ort-runners.js';
import { writeBundle } from './bundle-writer.js';
import { itemVectors, referenceUserVectors } from './graphs.js';
import type { MatrixFactorizationExport, PopularityExport } from './types.js';

const N_USERS = 5;
const N_ITEMS = 8;
const DIM = 3;

function dataset(): Dataset {
  // user u → items (u + k) mod N_ITEMS for k < u + 1, so histories have different lengths.
  const user: number[] = [];
  const item: number[] = [];
  for (let u = 0; u < N_USERS; u++) for (let k = 0; k <= u; k++) (user.push(u), item.push((u + k) % N_ITEMS));
  return {
    name: 'tiny',
    users: IdMap.from(Array.from({ length: N_USERS }, (_, u) => `user-${u}`)),
    items: IdMap.from(Array.from({ length: N_ITEMS }, (_, i) => `item-${i}`)),
    interactions: {
      user: Int32Array.from(user),
      item: Int32Array.from(item),
      value: new Float32Array(user.length).fill(1),
      timestamp: new Float64Array(user.length).fill(Number.NaN),
    },
    source: { format: 'csv', path: '/dev/null' },
  };
}

function csrOf(d: Dataset): Csr {
  const rows: number[][] = Array.from({ length: d.users.size }, () => []);
  d.interactions.user.forEach((u, k) => rows[u]?.push(d.interactions.item[k] ?? 0));
  const indptr = new Int32Array(d.users.size + 1);
  const indices: number[] = [];
  rows.forEach((r, u) => {
    indices.push(...[...new Set(r)].sort((a, b) => a - b));
    indptr[u + 1] = indices.length;
  });
  return { rows: d.users.size, cols: d.items.size, indptr, indices: Int32Array.from(indices), values: new Float32Array(indices.length).fill(1) };
}

function mfSpec(): MatrixFactorizationExport {
  const rng = new Rng(7);
  const randn = (n: number): Float32Array => Float32Array.from({ length: n }, () => rng.normal());
  return { kind: 'matrix-factorization', dim: DIM, userFactors: randn(N_USERS * DIM), itemFactors: randn(N_ITEMS * DIM), itemBias: randn(N_ITEMS) };
}

const sha256 = (bytes: Uint8Array): string => createHash('sha256').update(bytes).digest('hex');

let root: string;
beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'tastemaker-bundle-'));
});
afterAll(async () => {
  await rm(root, { recursive: true, force: true });
});

describe('writeBundle', () => {
  it('writes a bundle whose manifest parses and whose checksums match its files', async () => {
    const d = dataset();
    const csr = csrOf(d);
    const spec = mfSpec();
    const dir = join(root, 'mf');
    const { manifest } = await writeBundle(dir, {
      modelId: 'bpr',
      spec,
      dataset: d,
      trainCsr: csr,
      trainerVersion: '0.1.0',
      metrics: { 'ndcg@10': 0.5 },
      params: { dim: DIM },
      backend: 'typed-arrays',
      maxHistory: 50,
      createdAt: new Date('2024-01-02T03:04:05Z'),
    });

    const onDisk = manifestSchema.parse(JSON.parse(await readFile(join(dir, 'manifest.json'), 'utf8')));
    expect(onDisk).toEqual(manifest);
    expect(onDisk.model).toEqual({
      kind: 'bpr',
      scoring: 'embedding',
      metric: 'ip',
      maxHistory: 50,
      params: { exportKind: 'matrix-factorization', dim: DIM },
    });
    expect(onDisk.createdAt).toBe('2024-01-02T03:04:05.000Z');
    expect(onDisk.items).toEqual({ count: N_ITEMS, ids: 'items.json', embeddings: 'items.f32', dim: DIM + 1 });
    expect(onDisk.graphs.user_tower).toEqual({
      file: 'user_tower.onnx',
      inputs: [
        { name: 'user_index', dtype: 'int64', shape: ['batch'] },
        { name: 'history', dtype: 'int64', shape: ['batch', 'length'] },
      ],
      outputs: [{ name: 'user_embedding', dtype: 'float32', shape: ['batch', DIM + 1] }],
      opset: 17,
    });

    // Exactly the listed files plus the manifest: no staging leftovers.
    expect((await readdir(dir)).sort()).toEqual([...Object.keys(onDisk.files), 'manifest.json'].sort());
    expect((await readdir(root)).filter((f) => f.startsWith('.'))).toEqual([]);
    for (const [name, entry] of Object.entries(onDisk.files)) {
      const bytes = await readFile(join(dir, name));
      expect(bytes.byteLength, name).toBe(entry.bytes);
      expect(sha256(bytes), name).toBe(entry.sha256);
    }

    expect(JSON.parse(await readFile(join(dir, 'items.json'), 'utf8'))).toEqual(d.items.ids);
    expect(JSON.parse(await readFile(join(dir, 'users.json'), 'utf8'))).toEqual(d.users.ids);
    const f32 = await readFile(join(dir, 'items.f32'));
    expect(new Float32Array(f32.buffer, f32.byteOffset, f32.byteLength / 4)).toEqual(itemVectors(spec)?.values);
    const indptr = await readFile(join(dir, 'history.indptr.u32'));
    expect([...new Uint32Array(indptr.buffer, indptr.byteOffset, indptr.byteLength / 4)]).toEqual([...csr.indptr]);

    // The graph on disk runs and reproduces the reference forward.
    const users = [0, 4, N_USERS];
    const histories = [[1], [], [2, 5]];
    const out = await runModel('node', await readFile(join(dir, 'user_tower.onnx')), {
      user_index: int64Feed(users),
      history: padHistories(histories, N_ITEMS),
    }, ['user_embedding']);
    const expected = referenceUserVectors(spec, users, histories);
    out.user_embedding?.data.forEach((v, k) => expect(v).toBeCloseTo(expected[k] ?? Number.NaN, 4));
  });

  it('writes bundles core loads', async () => {
    const d = dataset();
    const dir = join(root, 'loadable');
    await writeBundle(dir, { modelId: 'bpr', spec: mfSpec(), dataset: d, trainCsr: csrOf(d), trainerVersion: '0.1.0' });
    const loaded = await loadBundle(directorySource(dir));
    expect(loaded.itemIds).toEqual(d.items.ids);
    expect(loaded.userGraph.name).toBe('user_tower');
    expect(loaded.itemEmbeddings?.length).toBe(N_ITEMS * (DIM + 1));
  });

  it('writes score bundles without item vectors', async () => {
    const d = dataset();
    const spec: PopularityExport = { kind: 'popularity', scores: Float32Array.from({ length: N_ITEMS }, (_, i) => N_ITEMS - i) };
    const dir = join(root, 'pop');
    const { manifest } = await writeBundle(dir, { modelId: 'popularity', spec, dataset: d, trainCsr: csrOf(d), trainerVersion: '0.1.0' });
    expect(manifest.model.scoring).toBe('scores');
    expect(manifest.items.embeddings).toBeUndefined();
    expect(Object.keys(manifest.files).sort()).toEqual(['history.indices.u32', 'history.indptr.u32', 'items.json', 'scorer.onnx', 'users.json']);
    expect(manifest.graphs.scorer?.outputs).toEqual([{ name: 'scores', dtype: 'float32', shape: ['batch', N_ITEMS] }]);
  });

  it('refuses to clobber a bundle unless told to, and replaces it whole when told', async () => {
    const d = dataset();
    const dir = join(root, 'again');
    const options = { modelId: 'bpr', spec: mfSpec(), dataset: d, trainCsr: csrOf(d), trainerVersion: '0.1.0' };
    await writeBundle(dir, options);
    await writeFile(join(dir, 'stale.txt'), 'left over');
    await expect(writeBundle(dir, options)).rejects.toThrow(/already exists/);
    await writeBundle(dir, { ...options, overwrite: true, modelId: 'two' });
    expect(await readdir(dir)).not.toContain('stale.txt');
    expect(JSON.parse(await readFile(join(dir, 'manifest.json'), 'utf8')).model.kind).toBe('two');
    expect((await readdir(root)).filter((f) => f.startsWith('.'))).toEqual([]);

    // An empty directory made in advance (mkdtemp-style) is fine.
    const empty = join(root, 'empty');
    await mkdir(empty);
    await writeBundle(empty, options);
    expect(await readdir(empty)).toContain('manifest.json');
  });

  it('refuses a spec that does not fit the data set, writing nothing', async () => {
    const d = dataset();
    const dir = join(root, 'mismatch');
    const spec: PopularityExport = { kind: 'popularity', scores: new Float32Array(N_ITEMS + 1) };
    await expect(writeBundle(dir, { modelId: 'popularity', spec, dataset: d, trainCsr: csrOf(d), trainerVersion: '0.1.0' })).rejects.toThrow(
      /scores 9 items but dataset tiny has 8/,
    );
    await expect(readdir(dir)).rejects.toThrow(/ENOENT/);
  });
});
