/**
 * Small, valid bundles for core's tests, built in memory with the tiny ONNX writer. Each test
 * breaks one thing on purpose; `sealBundle` re-hashes so only the intended check fails.
 */
import { MANIFEST_FILE, type ManifestInput } from '../bundle/manifest.js';
import { sha256Hex } from '../bundle/sha256.js';
import { scorerOnnx, userTowerOnnx } from './tiny-onnx.js';

export type BundleFiles = Record<string, Uint8Array>;

export function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export function randomVectors(rows: number, dim: number, seed: number): Float32Array {
  const rand = mulberry32(seed);
  return Float32Array.from({ length: rows * dim }, () => rand() * 2 - 1);
}

export interface TinyBundle {
  files: BundleFiles;
  manifest: ManifestInput;
  userVectors: Float32Array;
  itemVectors: Float32Array;
  /** Per user row, item rows of their training history (oldest first). */
  histories: number[][];
}

export interface TinyBundleOptions {
  users?: number;
  items?: number;
  dim?: number;
  seed?: number;
  scoring?: 'embedding' | 'scores';
  maxHistory?: number;
  inputNames?: { userIndex?: string; history?: string };
}

const bytesOf = (a: Float32Array | Uint32Array) => new Uint8Array(a.buffer, a.byteOffset, a.byteLength);
const json = (v: unknown) => new TextEncoder().encode(JSON.stringify(v));

export async function tinyBundle(options: TinyBundleOptions = {}): Promise<TinyBundle> {
  const users = options.users ?? 6;
  const items = options.items ?? 40;
  const dim = options.dim ?? 8;
  const seed = options.seed ?? 7;
  const scoring = options.scoring ?? 'embedding';
  const rand = mulberry32(seed + 1);
  const userVectors = randomVectors(users, dim, seed + 2);
  const itemVectors = randomVectors(items, dim, seed + 3);
  const histories = Array.from({ length: users }, () => Array.from({ length: 1 + Math.floor(rand() * 4) }, () => Math.floor(rand() * items)));
  const indptr = new Uint32Array(users + 1);
  histories.forEach((h, u) => (indptr[u + 1] = (indptr[u] as number) + h.length));
  const indices = Uint32Array.from(histories.flat());

  const tower = { users, items, dim, userVectors, itemVectors, ...(options.inputNames ? { inputNames: options.inputNames } : {}) };
  const graphName = scoring === 'embedding' ? 'user_tower' : 'scorer';
  const files: BundleFiles = {
    [`${graphName}.onnx`]: scoring === 'embedding' ? userTowerOnnx(tower) : scorerOnnx(tower),
    'items.json': json(Array.from({ length: items }, (_, i) => `item-${i}`)),
    'users.json': json(Array.from({ length: users }, (_, u) => `user-${u}`)),
    'history.indptr.u32': bytesOf(indptr),
    'history.indices.u32': bytesOf(indices),
  };
  if (scoring === 'embedding') files['items.f32'] = bytesOf(itemVectors);

  const manifest: ManifestInput = {
    format: 'tastemaker-bundle',
    formatVersion: 1,
    createdAt: '2026-01-01T00:00:00.000Z',
    trainer: { name: 'core-tests', version: '0.0.0' },
    model: { kind: 'tiny', scoring, metric: 'ip', maxHistory: options.maxHistory ?? 0, params: {} },
    graphs: {
      [graphName]: {
        file: `${graphName}.onnx`,
        inputs: [
          { name: 'user_index', dtype: 'int64', shape: ['batch'] },
          { name: 'history', dtype: 'int64', shape: ['batch', 'length'] },
        ],
        outputs: [
          scoring === 'embedding'
            ? { name: 'user_embedding', dtype: 'float32', shape: ['batch', dim] }
            : { name: 'scores', dtype: 'float32', shape: ['batch', items] },
        ],
        opset: 17,
      },
    },
    items: { count: items, ids: 'items.json', ...(scoring === 'embedding' ? { embeddings: 'items.f32', dim } : {}) },
    users: { count: users, ids: 'users.json', historyIndptr: 'history.indptr.u32', historyIndices: 'history.indices.u32' },
    metrics: {},
    files: {},
  };
  return { files: await sealBundle(files, manifest), manifest, userVectors, itemVectors, histories };
}

/** Recomputes `files` (sizes and sha256 of every non-manifest file) and writes manifest.json. */
export async function sealBundle(files: BundleFiles, manifest: ManifestInput): Promise<BundleFiles> {
  const entries: ManifestInput['files'] = {};
  for (const [name, bytes] of Object.entries(files)) {
    if (name === MANIFEST_FILE) continue;
    entries[name] = { sha256: await sha256Hex(bytes), bytes: bytes.byteLength };
  }
  const sealed = { ...manifest, files: entries };
  return { ...files, [MANIFEST_FILE]: json(sealed) };
}

/** Replaces manifest.json without re-hashing anything else. */
export function withManifest(files: BundleFiles, edit: (m: Record<string, unknown>) => void): BundleFiles {
  const m = JSON.parse(new TextDecoder().decode(files[MANIFEST_FILE])) as Record<string, unknown>;
  edit(m);
  return { ...files, [MANIFEST_FILE]: json(m) };
}

/** The tiny tower's embedding for a user row (or unknown) and a history, computed in plain JS. */
export function expectedUserVector(b: TinyBundle, dim: number, userRow: number | undefined, history: number[]): Float32Array {
  const out = new Array<number>(dim).fill(0);
  if (userRow !== undefined) for (let j = 0; j < dim; j++) out[j] = (out[j] as number) + (b.userVectors[userRow * dim + j] as number);
  for (const h of history) for (let j = 0; j < dim; j++) out[j] = (out[j] as number) + (b.itemVectors[h * dim + j] as number);
  return Float32Array.from(out);
}
