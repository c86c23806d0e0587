import { createHash, randomBytes } from 'node:crypto';
import { mkdir, readdir, rename, rm, stat, writeFile } from 'node:fs/promises';
import { basename, dirname, join, resolve } from 'node:path';
import {
  BUNDLE_FORMAT,
  BUNDLE_FORMAT_VERSION,
  MANIFEST_FILE,
  type Manifest,
  type ManifestInput,
  TastemakerError,
  type TensorSpec,
  manifestSchema,
} from '@tastemaker/core';
import type { Csr, Dataset } from '../data/dataset.js';
import type { TensorSignature } from '../onnx/builder.js';
import { type ExportedGraph, type GraphExportOptions, exportGraphs, itemCountOf, itemVectors, scoringOf, userCountOf } from './graphs.js';
import { exportRankerGraph } from './ranker-graph.js';
import type { BundleKg } from './kg-section.js';
import type { ExportSpec, RankerExport } from './types.js';

/** File names inside a bundle (graphs are `<graph>.onnx`). */
export const BUNDLE_FILES = {
  itemIds: 'items.json',
  userIds: 'users.json',
  itemEmbeddings: 'items.f32',
  historyIndptr: 'history.indptr.u32',
  historyIndices: 'history.indices.u32',
} as const;

export interface WriteBundleOptions {
  /** model id as given to the trainer ("bpr", "two-tower", …); the manifest's model.kind */
  modelId: string;
  spec: ExportSpec;
  /** source of users.json / items.json (its id maps) and of the manifest's dataset name */
  dataset: Dataset;
  /** each known user's training history, user → items; written as the bundle's history CSR */
  trainCsr: Csr;
  trainerVersion: string;
  /** evaluation metrics, e.g. { "ndcg@10": 0.41 } */
  metrics?: Record<string, number>;
  /** effective hyper-parameters */
  params?: Record<string, unknown>;
  /** tfjs backend that trained the model */
  backend?: string;
  /** longest history core feeds the user graph (most recent kept); 0 or absent = no limit */
  maxHistory?: number;
  /** similarity of the item index for embedding scoring; default "ip" */
  metric?: 'ip' | 'cosine';
  /** replace an existing non-empty bundle directory (default: refuse) */
  overwrite?: boolean;
  /** manifest createdAt; default now (tests pin it) */
  createdAt?: Date;
  graphOptions?: GraphExportOptions;
  /**
   * Makes a two-stage bundle: `spec` is the retrieval stage and this ranker re-scores its top
   * `candidates` per request (manifest `ranker` section, `ranker.onnx`).
   */
  ranker?: BundleRanker;
  /** The item ↔ entity knowledge graph (manifest `kg` section), from kgSectionOf / bundleKgFor. */
  kg?: BundleKg;
}

export interface BundleRanker {
  /** the ranker's model id, e.g. "neumf" */
  modelId: string;
  spec: RankerExport;
  /** retrieved candidates re-scored per request */
  candidates: number;
  params?: Record<string, unknown>;
  metrics?: Record<string, number>;
  backend?: string;
}

export interface WrittenBundle {
  dir: string;
  manifest: Manifest;
}

function invalid(message: string, details: Record<string, unknown> = {}): TastemakerError {
  return new TastemakerError('INVALID_ARGUMENT', message, details);
}

function sha256(bytes: Uint8Array): string {
  return createHash('sha256').update(bytes).digest('hex');
}

function bytesOf(view: Uint32Array | Float32Array): Uint8Array {
  // Bundle arrays are little-endian; so is every host Node runs on, so the buffer is written as is.
  return new Uint8Array(view.buffer, view.byteOffset, view.byteLength);
}

function toTensorSpec(t: TensorSignature, graph: string): TensorSpec {
  if (t.dtype !== 'float32' && t.dtype !== 'int64' && t.dtype !== 'int32' && t.dtype !== 'bool') {
    throw new TastemakerError('INTERNAL', `Graph ${graph}: ${t.name} is ${t.dtype}, which the bundle manifest cannot describe.`);
  }
  return { name: t.name, dtype: t.dtype, shape: [...t.shape] };
}

/** The history CSR as the bundle stores it: uint32 row pointers and item indices. */
function historyArrays(csr: Csr, nUsers: number, nItems: number): { indptr: Uint32Array; indices: Uint32Array } {
  if (csr.rows !== nUsers) throw invalid(`trainCsr has ${csr.rows} rows but the dataset has ${nUsers} users.`);
  if (csr.cols !== nItems) throw invalid(`trainCsr has ${csr.cols} columns but the model scores ${nItems} items.`);
  if (csr.indptr.length !== nUsers + 1) throw invalid(`trainCsr.indptr has ${csr.indptr.length} entries, expected ${nUsers + 1}.`);
  const nnz = csr.indptr[nUsers] ?? 0;
  if (nnz > csr.indices.length) throw invalid(`trainCsr.indptr ends at ${nnz} but indices has ${csr.indices.length} entries.`);
  const indices = new Uint32Array(nnz);
  for (let k = 0; k < nnz; k++) {
    const item = csr.indices[k] ?? -1;
    if (item < 0 || item >= nItems) throw invalid(`trainCsr.indices[${k}] = ${item} is outside [0, ${nItems}).`);
    indices[k] = item;
  }
  return { indptr: Uint32Array.from(csr.indptr), indices };
}

function checkCounts(spec: ExportSpec, dataset: Dataset): { nUsers: number; nItems: number } {
  const nItems = itemCountOf(spec);
  if (dataset.items.size !== nItems) {
    throw invalid(`The ${spec.kind} export scores ${nItems} items but dataset ${dataset.name} has ${dataset.items.size}.`, {
      modelItems: nItems,
      datasetItems: dataset.items.size,
    });
  }
  const nUsers = dataset.users.size;
  const modelUsers = userCountOf(spec);
  if (modelUsers !== undefined && modelUsers !== nUsers) {
    throw invalid(`The ${spec.kind} export knows ${modelUsers} users but dataset ${dataset.name} has ${nUsers}.`, {
      modelUsers,
      datasetUsers: nUsers,
    });
  }
  return { nUsers, nItems };
}

async function isNonEmptyDir(path: string): Promise<boolean> {
  try {
    const s = await stat(path);
    if (!s.isDirectory()) throw invalid(`Bundle path ${path} exists and is not a directory.`);
    return (await readdir(path)).length > 0;
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return false;
    throw e;
  }
}

/**
 * Writes a bundle directory: manifest.json, the graph(s), ids, item vectors (embedding scoring) and
 * the history CSR, each checksummed in the manifest, which is validated against core's schema
 * before anything is written.
 *
 * Everything goes to a sibling temporary directory that is renamed into place at the end, so a
 * crash or a failed validation never leaves a half-written bundle where core would look; with
 * `overwrite`, the old bundle is moved aside first and removed only after the new one is in place.
 */
export async function writeBundle(dir: string, options: WriteBundleOptions): Promise<WrittenBundle> {
  const target = resolve(dir);
  const { spec, dataset } = options;
  const { nUsers, nItems } = checkCounts(spec, dataset);
  if (options.maxHistory !== undefined && (!Number.isInteger(options.maxHistory) || options.maxHistory < 0)) {
    throw invalid(`maxHistory must be a non-negative integer, got ${options.maxHistory}.`);
  }
  if (!options.overwrite && (await isNonEmptyDir(target))) {
    throw invalid(`Bundle directory ${target} already exists and is not empty; pass overwrite to replace it.`, { dir: target });
  }

  const ranker = options.ranker;
  if (ranker) {
    if (!Number.isInteger(ranker.candidates) || ranker.candidates < 1) throw invalid(`ranker candidates must be a positive integer, got ${ranker.candidates}.`);
    checkCounts(ranker.spec, dataset);
  }

  const contents = new Map<string, Uint8Array>();
  const graphOptions = { producerVersion: options.trainerVersion, ...options.graphOptions };
  const graphs: ExportedGraph[] = exportGraphs(spec, graphOptions);
  if (ranker) graphs.push(exportRankerGraph(ranker.spec, graphOptions));
  for (const g of graphs) contents.set(g.file, g.bytes);
  const json = (value: unknown): Uint8Array => new TextEncoder().encode(`${JSON.stringify(value)}\n`);
  contents.set(BUNDLE_FILES.itemIds, json(dataset.items.ids));
  contents.set(BUNDLE_FILES.userIds, json(dataset.users.ids));
  const vectors = itemVectors(spec);
  if (vectors) contents.set(BUNDLE_FILES.itemEmbeddings, bytesOf(vectors.values));
  const history = historyArrays(options.trainCsr, nUsers, nItems);
  contents.set(BUNDLE_FILES.historyIndptr, bytesOf(history.indptr));
  contents.set(BUNDLE_FILES.historyIndices, bytesOf(history.indices));
  if (options.kg) contents.set(options.kg.section.file, options.kg.bytes);

  const files: Record<string, { sha256: string; bytes: number }> = {};
  for (const [name, bytes] of contents) files[name] = { sha256: sha256(bytes), bytes: bytes.byteLength };

  const draft: ManifestInput = {
    format: BUNDLE_FORMAT,
    formatVersion: BUNDLE_FORMAT_VERSION,
    createdAt: (options.createdAt ?? new Date()).toISOString(),
    trainer: { name: '@tastemaker/trainer', version: options.trainerVersion },
    model: {
      kind: options.modelId,
      scoring: scoringOf(spec),
      metric: options.metric ?? 'ip',
      maxHistory: options.maxHistory ?? 0,
      params: { exportKind: spec.kind, ...options.params },
    },
    graphs: Object.fromEntries(
      graphs.map((g) => [
        g.name,
        {
          file: g.file,
          inputs: g.signature.inputs.map((t) => toTensorSpec(t, g.name)),
          outputs: g.signature.outputs.map((t) => toTensorSpec(t, g.name)),
          opset: g.opset,
        },
      ]),
    ),
    items: {
      count: nItems,
      ids: BUNDLE_FILES.itemIds,
      ...(vectors ? { embeddings: BUNDLE_FILES.itemEmbeddings, dim: vectors.dim } : {}),
    },
    users: {
      count: nUsers,
      ids: BUNDLE_FILES.userIds,
      historyIndptr: BUNDLE_FILES.historyIndptr,
      historyIndices: BUNDLE_FILES.historyIndices,
    },
    dataset: { name: dataset.name, ...(dataset.source ? { format: dataset.source.format } : {}) },
    metrics: options.metrics ?? {},
    ...(options.backend ? { backend: options.backend } : {}),
    ...(ranker
      ? {
          ranker: {
            kind: ranker.modelId,
            graph: graphs[graphs.length - 1]?.name,
            candidates: ranker.candidates,
            params: { exportKind: ranker.spec.kind, ...ranker.params },
            metrics: ranker.metrics ?? {},
            ...(ranker.backend ? { backend: ranker.backend } : {}),
          },
        }
      : {}),
    ...(options.kg ? { kg: options.kg.section } : {}),
    files,
  };
  const parsed = manifestSchema.safeParse(draft);
  if (!parsed.success) {
    throw new TastemakerError(
      'INTERNAL',
      `The manifest the trainer built does not satisfy core's schema: ${parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}`,
      { issues: parsed.error.issues },
    );
  }
  const manifest = parsed.data;

  await mkdir(dirname(target), { recursive: true });
  const suffix = `${process.pid}-${randomBytes(4).toString('hex')}`;
  const staging = join(dirname(target), `.${basename(target)}.tmp-${suffix}`);
  const aside = join(dirname(target), `.${basename(target)}.old-${suffix}`);
  let movedAside = false;
  try {
    await mkdir(staging);
    for (const [name, bytes] of contents) await writeFile(join(staging, name), bytes);
    // The manifest goes last: a staging directory with a manifest is a complete bundle.
    await writeFile(join(staging, MANIFEST_FILE), `${JSON.stringify(manifest, null, 2)}\n`);
    if (await isNonEmptyDir(target)) {
      await rename(target, aside);
      movedAside = true;
    }
    // rename(2) replaces an empty directory, so a pre-created empty target is fine.
    await rename(staging, target);
  } catch (e) {
    await rm(staging, { recursive: true, force: true });
    if (movedAside) await rename(aside, target).catch(() => undefined);
    throw e;
  }
  if (movedAside) await rm(aside, { recursive: true, force: true });
  return { dir: target, manifest };
}
