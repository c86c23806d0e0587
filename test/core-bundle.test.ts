/**
 * Trainer → bundle → core: bundles written by the trainer's real exporter load, verify and serve in
 * core, and core refuses them once tampered with.
 */
import { cp, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as ort from 'onnxruntime-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createRecommender, cudaUnavailableReason, topK, type Recommender } from '@tastemaker/core';
import { type Csr, type Dataset, IdMap } from '../packages/trainer/src/data/dataset.js';
import { referenceScores, writeBundle } from '../packages/trainer/src/export/index.js';
import type { ItemSimilarityExport, MatrixFactorizationExport } from '../packages/trainer/src/export/types.js';

const N_USERS = 30;
const N_ITEMS = 1500;
const DIM = 16;

function seeded(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = Math.imul(a ^ (a >>> 15), a | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Each user has 3–12 distinct items; the CSR is what the bundle stores as training history. */
function fixture(nItems: number, seed: number): { dataset: Dataset; csr: Csr; histories: number[][] } {
  const rand = seeded(seed);
  const histories = Array.from({ length: N_USERS }, () => {
    const set = new Set<number>();
    const n = 3 + Math.floor(rand() * 10);
    while (set.size < n) set.add(Math.floor(rand() * nItems));
    return [...set];
  });
  const indptr = new Int32Array(N_USERS + 1);
  histories.forEach((h, u) => (indptr[u + 1] = (indptr[u] ?? 0) + h.length));
  const flat = histories.flat();
  const dataset: Dataset = {
    name: 'synthetic',
    users: IdMap.from(Array.from({ length: N_USERS }, (_, u) => `u${u}`)),
    items: IdMap.from(Array.from({ length: nItems }, (_, i) => `i${i}`)),
    interactions: {
      user: Int32Array.from(histories.flatMap((h, u) => h.map(() => u))),
      item: Int32Array.from(flat),
      value: new Float32Array(flat.length).fill(1),
      timestamp: new Float64Array(flat.length).fill(Number.NaN),
    },
  };
  const csr: Csr = { rows: N_USERS, cols: nItems, indptr, indices: Int32Array.from(flat), values: new Float32Array(flat.length).fill(1) };
  return { dataset, csr, histories };
}

function gaussian(n: number, rand: () => number): Float32Array {
  return Float32Array.from({ length: n }, () => Math.sqrt(-2 * Math.log(rand() + 1e-12)) * Math.cos(2 * Math.PI * rand()));
}

/** The trainer's reference forward, ranked the way core must rank it. */
function expectedTop(spec: Parameters<typeof referenceScores>[0], user: number, history: number[], exclude: Set<number>, k: number) {
  const scores = referenceScores(spec, [user], [history]);
  return topK(scores, k, exclude).map((h) => ({ itemId: `i${h.row}`, score: h.score }));
}

function expectSame(got: { itemId: string; score: number }[], want: { itemId: string; score: number }[]) {
  expect(got.map((i) => i.itemId)).toEqual(want.map((i) => i.itemId));
  got.forEach((item, i) => expect(item.score).toBeCloseTo(want[i]?.score ?? Number.NaN, 3));
}

let root: string;
let mfDir: string;
let simDir: string;
let mf: MatrixFactorizationExport;
let sim: ItemSimilarityExport;
let mfHistories: number[][];
let simHistories: number[][];

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'tm-core-bundle-'));
  const rand = seeded(11);

  const a = fixture(N_ITEMS, 1);
  mfHistories = a.histories;
  mf = { kind: 'matrix-factorization', dim: DIM, userFactors: gaussian(N_USERS * DIM, rand), itemFactors: gaussian(N_ITEMS * DIM, rand), itemBias: gaussian(N_ITEMS, rand) };
  mfDir = join(root, 'mf');
  await writeBundle(mfDir, { modelId: 'bpr', spec: mf, dataset: a.dataset, trainCsr: a.csr, trainerVersion: '0.0.0-test' });

  const nSim = 60;
  const b = fixture(nSim, 2);
  simHistories = b.histories;
  sim = { kind: 'item-similarity', nItems: nSim, matrix: gaussian(nSim * nSim, rand) };
  simDir = join(root, 'sim');
  await writeBundle(simDir, { modelId: 'ease', spec: sim, dataset: b.dataset, trainCsr: b.csr, trainerVersion: '0.0.0-test' });
});

afterAll(async () => {
  await rm(root, { recursive: true, force: true });
});

describe('a bundle written by the trainer', () => {
  it('loads and recommends what the reference forward ranks first', async () => {
    const rec = await createRecommender({ bundle: mfDir, device: 'cpu', index: 'exact' });
    try {
      expect(rec.info()).toMatchObject({ model: { kind: 'bpr', scoring: 'embedding' }, items: { count: N_ITEMS, dim: DIM + 1 }, users: { count: N_USERS } });
      for (const u of [0, 7, 29]) {
        const seen = mfHistories[u] ?? [];
        const res = await rec.recommend({ userId: `u${u}`, k: 10 });
        expect(res.model).toMatch(/^bpr@[0-9a-f]{12}$/);
        expectSame(res.items, expectedTop(mf, u, seen, new Set(seen), 10));
      }
      // A new user is folded in from their history (user_index = users.count).
      const res = await rec.recommend({ history: ['i5', 'unknown-item', 'i900'], k: 10, exclude: ['i1'] });
      expectSame(res.items, expectedTop(mf, N_USERS, [5, 900], new Set([5, 900, 1]), 10));
    } finally {
      await rec.dispose();
    }
    await expect(rec.recommend({ userId: 'u0' })).rejects.toMatchObject({ code: 'DISPOSED' });
  });

  it('serves a scores bundle (item similarity) with exact top-k', async () => {
    const rec = await createRecommender({ bundle: simDir, device: 'cpu' });
    try {
      expect(rec.info().model.scoring).toBe('scores');
      const seen = [...(simHistories[3] ?? []), 17];
      const res = await rec.recommend({ userId: 'u3', history: ['i17'], k: 5 });
      expectSame(res.items, expectedTop(sim, 3, seen, new Set(seen), 5));
    } finally {
      await rec.dispose();
    }
  });

  it('gives the same top-10 with hnsw and exact retrieval', async () => {
    const hnsw = await createRecommender({ bundle: mfDir, device: 'cpu', index: 'hnsw' });
    const exact = await createRecommender({ bundle: mfDir, device: 'cpu', index: 'exact' });
    try {
      expect(hnsw.info().index?.kind).toBe('hnsw');
      const requests = Array.from({ length: N_USERS }, (_, u) => ({ userId: `u${u}`, k: 10 }));
      const [a, b] = await Promise.all([hnsw.recommendBatch(requests), exact.recommendBatch(requests)]);
      a.forEach((res, u) => expect(res.items.map((i) => i.itemId), `u${u}`).toEqual(b[u]?.items.map((i) => i.itemId)));
    } finally {
      await Promise.all([hnsw.dispose(), exact.dispose()]);
    }
  });
});

describe('core refuses a bundle that does not match its manifest', () => {
  async function copyOf(name: string): Promise<string> {
    const dir = join(root, name);
    await cp(mfDir, dir, { recursive: true });
    return dir;
  }

  it('tampering one byte of user_tower.onnx → BUNDLE_CHECKSUM_MISMATCH naming user_tower.onnx', async () => {
    const dir = await copyOf('tampered');
    const path = join(dir, 'user_tower.onnx');
    const bytes = await readFile(path);
    bytes[bytes.length >> 1] = (bytes[bytes.length >> 1] ?? 0) ^ 0x01;
    await writeFile(path, bytes);
    const error = await createRecommender({ bundle: dir, device: 'cpu' }).catch((e: unknown) => e);
    expect(error).toMatchObject({ code: 'BUNDLE_CHECKSUM_MISMATCH', file: 'user_tower.onnx' });
    expect((error as Error).message).toMatch(/^user_tower\.onnx: sha256 is [0-9a-f]{64} but manifest\.json declares [0-9a-f]{64}/);
  });

  it('a manifest listing a wrong graph input name → BUNDLE_SIGNATURE_MISMATCH naming the .onnx file', async () => {
    const dir = await copyOf('renamed-input');
    const path = join(dir, 'manifest.json');
    const manifest = JSON.parse(await readFile(path, 'utf8')) as { graphs: Record<string, { inputs: { name: string }[] }> };
    const input = manifest.graphs.user_tower?.inputs.find((i) => i.name === 'history');
    if (input === undefined) throw new Error('exporter no longer declares a history input');
    input.name = 'item_history';
    await writeFile(path, JSON.stringify(manifest));
    const error = await createRecommender({ bundle: dir, device: 'cpu' }).catch((e: unknown) => e);
    expect(error).toMatchObject({ code: 'BUNDLE_SIGNATURE_MISMATCH', file: 'user_tower.onnx' });
    expect((error as Error).message).toContain('not in graph: item_history, not declared: history');
  });
});

describe('device selection on a real bundle', () => {
  it.runIf(cudaUnavailableReason(ort) !== undefined)('cuda without the CUDA provider fails listing what was tried', async () => {
    let rec: Recommender | undefined;
    const error = await createRecommender({ bundle: mfDir, device: 'cuda' }).then(
      (r) => ((rec = r), undefined),
      (e: unknown) => e,
    );
    await rec?.dispose();
    expect(error).toMatchObject({ code: 'DEVICE_UNAVAILABLE', details: { tried: [{ provider: 'cuda' }] } });
    expect((error as Error).message).toContain('Tried: cuda (');
  });

  it('auto serves on the best provider it finds', async () => {
    const rec = await createRecommender({ bundle: mfDir });
    expect(['cuda', 'cpu']).toContain(rec.info().inference.provider);
    await rec.dispose();
  });
});
