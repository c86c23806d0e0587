import type { z } from 'zod';
import { BundleError, TastemakerError } from '../errors/index.js';
import { MAX_KG_FILE_BYTES, parseKgFile, type ItemKnowledgeGraph } from '../kg/item-graph.js';
import {
  BUNDLE_FORMAT_VERSION,
  HISTORY_INPUT,
  ITEM_INDEX_INPUT,
  MANIFEST_FILE,
  RANKER_OUTPUT,
  USER_GRAPH_BY_SCORING,
  USER_INDEX_INPUT,
  manifestSchema,
  type GraphSpec,
  type Manifest,
} from './manifest.js';
import { sha256Hex } from './sha256.js';
import { assertSafeFileName, type BundleSource } from './source.js';

/** A bundle whose manifest, checksums and array files have all been verified. */
export interface LoadedBundle {
  readonly manifest: Manifest;
  /** sha256 of manifest.json, which identifies this exact bundle (the manifest pins every other file). */
  readonly manifestSha256: string;
  /** Where it was read from, for messages. */
  readonly location: string;
  /** Every file listed in the manifest, verified. */
  readonly files: ReadonlyMap<string, Uint8Array>;
  readonly itemIds: readonly string[];
  readonly userIds: readonly string[];
  /** [items.count, items.dim] row-major, present for `embedding` scoring. */
  readonly itemEmbeddings: Float32Array | undefined;
  readonly history: { readonly indptr: Uint32Array; readonly indices: Uint32Array };
  /** The graph core runs for this scoring mode and the output it reads. */
  readonly userGraph: { readonly name: string; readonly spec: GraphSpec; readonly output: string };
  /** Two-stage bundles: the ranker graph that re-scores the top `candidates` of retrieval. */
  readonly rankerGraph: { readonly name: string; readonly spec: GraphSpec; readonly output: string; readonly candidates: number } | undefined;
  /** Bundles with a `kg` section: the item ↔ entity graph, every index checked. */
  readonly kg: ItemKnowledgeGraph | undefined;
}

/**
 * Reads a bundle and refuses it unless the manifest parses, every listed file is present with the
 * declared size and sha256, and the id / embedding / history arrays agree with the declared counts.
 * Each refusal is a BundleError naming the offending file.
 */
export async function loadBundle(source: BundleSource): Promise<LoadedBundle> {
  const location = source.describe();
  const manifestBytes = await readFile(source, MANIFEST_FILE, location);
  const manifest = parseManifest(manifestBytes, location);
  const manifestSha256 = await sha256Hex(manifestBytes);

  const userGraph = checkGraphs(manifest);
  const rankerGraph = checkRankerGraph(manifest, userGraph.name);
  checkReferencedFilesListed(manifest);
  checkKgFileSize(manifest);

  const files = new Map<string, Uint8Array>();
  // Sequential on purpose: bundles can be large and reading everything at once doubles peak memory.
  for (const [name, entry] of Object.entries(manifest.files)) {
    assertSafeFileName(name);
    const bytes = await readFile(source, name, location);
    if (bytes.byteLength !== entry.bytes) {
      throw new BundleError(
        'BUNDLE_CHECKSUM_MISMATCH',
        `${name}: size is ${bytes.byteLength} bytes but manifest.json declares ${entry.bytes} (bundle ${location})`,
        { file: name, expectedBytes: entry.bytes, actualBytes: bytes.byteLength },
      );
    }
    const sha = await sha256Hex(bytes);
    if (sha !== entry.sha256) {
      throw new BundleError(
        'BUNDLE_CHECKSUM_MISMATCH',
        `${name}: sha256 is ${sha} but manifest.json declares ${entry.sha256} (bundle ${location})`,
        { file: name, expectedSha256: entry.sha256, actualSha256: sha },
      );
    }
    files.set(name, bytes);
  }
  const file = (name: string): Uint8Array => {
    const bytes = files.get(name);
    if (bytes === undefined) throw new TastemakerError('INTERNAL', `${name} was verified but not kept`);
    return bytes;
  };

  const itemIds = parseIdList(file(manifest.items.ids), manifest.items.ids, manifest.items.count, 'items.count');
  const userIds = parseIdList(file(manifest.users.ids), manifest.users.ids, manifest.users.count, 'users.count');

  let itemEmbeddings: Float32Array | undefined;
  if (manifest.model.scoring === 'embedding') {
    const name = manifest.items.embeddings as string; // presence checked in checkGraphs
    const dim = manifest.items.dim as number;
    const bytes = file(name);
    const expected = manifest.items.count * dim * 4;
    if (bytes.byteLength !== expected) {
      throw new BundleError(
        'BUNDLE_INVALID',
        `${name}: holds ${bytes.byteLength} bytes but items.count × items.dim × 4 = ${manifest.items.count} × ${dim} × 4 = ${expected}`,
        { file: name, expectedBytes: expected, actualBytes: bytes.byteLength },
      );
    }
    itemEmbeddings = float32LE(bytes);
    const bad = itemEmbeddings.findIndex((v) => !Number.isFinite(v));
    if (bad >= 0) {
      throw new BundleError('BUNDLE_INVALID', `${name}: value at row ${Math.floor(bad / dim)} is not finite`, {
        file: name,
        row: Math.floor(bad / dim),
      });
    }
  }

  const history = parseHistory(manifest, file(manifest.users.historyIndptr), file(manifest.users.historyIndices));
  const kgSection = manifest.kg;
  const kg =
    kgSection === undefined
      ? undefined
      : parseKgFile(file(kgSection.file), kgSection.file, { items: manifest.items.count, relations: kgSection.relations, entities: kgSection.entities, edges: kgSection.edges });

  return { manifest, manifestSha256, location, files, itemIds, userIds, itemEmbeddings, history, userGraph, rankerGraph, kg };
}

async function readFile(source: BundleSource, name: string, location: string): Promise<Uint8Array> {
  try {
    return await source.read(name);
  } catch (cause) {
    if (cause instanceof TastemakerError) throw cause;
    throw new BundleError('BUNDLE_INVALID', `${name}: could not be read from bundle ${location}`, { file: name }, { cause });
  }
}

/** Parses manifest.json; zod issues become one message that names each wrong field. */
export function parseManifest(bytes: Uint8Array, location = 'bundle'): Manifest {
  let json: unknown;
  try {
    json = JSON.parse(new TextDecoder().decode(bytes));
  } catch (cause) {
    throw new BundleError('BUNDLE_INVALID', `${MANIFEST_FILE}: not valid JSON (bundle ${location})`, { file: MANIFEST_FILE }, { cause });
  }
  // Checked before the full schema so a bundle from a newer trainer says "upgrade" rather than listing
  // every field that changed.
  if (typeof json === 'object' && json !== null && 'formatVersion' in json) {
    const v = (json as { formatVersion: unknown }).formatVersion;
    if (typeof v === 'number' && v > BUNDLE_FORMAT_VERSION) {
      throw new BundleError(
        'BUNDLE_UNSUPPORTED',
        `${MANIFEST_FILE}: formatVersion ${v} is newer than this core supports (${BUNDLE_FORMAT_VERSION}); upgrade @tastemaker/core`,
        { file: MANIFEST_FILE, field: 'formatVersion', got: v, supported: BUNDLE_FORMAT_VERSION },
      );
    }
  }
  const parsed = manifestSchema.safeParse(json);
  if (!parsed.success) {
    const issues = parsed.error.issues.map(describeIssue);
    throw new BundleError(
      'BUNDLE_INVALID',
      `${MANIFEST_FILE}: ${issues.map((i) => `${i.path}: ${i.message}`).join('; ')} (bundle ${location})`,
      { file: MANIFEST_FILE, issues },
    );
  }
  return parsed.data;
}

function describeIssue(issue: z.core.$ZodIssue): { path: string; message: string } {
  const path = issue.path.length === 0 ? '(root)' : issue.path.map((p) => (typeof p === 'number' ? `[${p}]` : String(p))).join('.');
  return { path: path.replace(/\.\[/g, '['), message: issue.message };
}

function checkGraphs(manifest: Manifest): LoadedBundle['userGraph'] {
  const { graph: name, output } = USER_GRAPH_BY_SCORING[manifest.model.scoring];
  const spec = manifest.graphs[name];
  if (spec === undefined) {
    throw new BundleError(
      'BUNDLE_INVALID',
      `${MANIFEST_FILE}: model.scoring is "${manifest.model.scoring}" but graphs has no "${name}" (has: ${Object.keys(manifest.graphs).join(', ') || 'none'})`,
      { file: MANIFEST_FILE, field: `graphs.${name}` },
    );
  }
  const out = spec.outputs.find((o) => o.name === output);
  if (out === undefined) {
    throw new BundleError(
      'BUNDLE_INVALID',
      `${spec.file}: graph "${name}" must output "${output}" (declared: ${spec.outputs.map((o) => o.name).join(', ')})`,
      { file: spec.file, expectedOutput: output },
    );
  }
  if (out.dtype !== 'float32') {
    throw new BundleError('BUNDLE_UNSUPPORTED', `${spec.file}: output ${output} is ${out.dtype}; core reads float32`, { file: spec.file });
  }
  const last = out.shape[out.shape.length - 1];
  if (manifest.model.scoring === 'embedding') {
    if (manifest.items.embeddings === undefined || manifest.items.dim === undefined) {
      throw new BundleError('BUNDLE_INVALID', `${MANIFEST_FILE}: embedding scoring needs items.embeddings and items.dim`, {
        file: MANIFEST_FILE,
        field: manifest.items.embeddings === undefined ? 'items.embeddings' : 'items.dim',
      });
    }
    if (typeof last === 'number' && last !== manifest.items.dim) {
      throw new BundleError(
        'BUNDLE_INVALID',
        `${spec.file}: output ${output} has dimension ${last} but items.dim is ${manifest.items.dim}`,
        { file: spec.file, outputDim: last, itemsDim: manifest.items.dim },
      );
    }
  } else if (typeof last === 'number' && last !== manifest.items.count) {
    throw new BundleError('BUNDLE_INVALID', `${spec.file}: output ${output} scores ${last} items but items.count is ${manifest.items.count}`, {
      file: spec.file,
      outputItems: last,
      itemsCount: manifest.items.count,
    });
  }
  return { name, spec, output };
}

/**
 * The ranker's declared signature must be the contract (user_index and item_index, integer [batch];
 * scores float32 [batch]): core feeds it nothing else. The runtime graph is compared with this
 * declaration when the session opens (checkGraphSignature).
 */
function checkRankerGraph(manifest: Manifest, userGraphName: string): LoadedBundle['rankerGraph'] {
  const ranker = manifest.ranker;
  if (ranker === undefined) return undefined;
  const name = ranker.graph;
  const spec = manifest.graphs[name];
  if (spec === undefined || name === userGraphName) {
    throw new BundleError(
      'BUNDLE_INVALID',
      `${MANIFEST_FILE}: ranker.graph is "${name}" but ${spec === undefined ? `graphs has no "${name}"` : 'that is the retrieval graph'} (has: ${Object.keys(manifest.graphs).join(', ')})`,
      { file: MANIFEST_FILE, field: 'ranker.graph' },
    );
  }
  const problems: string[] = [];
  const inputNames = spec.inputs.map((i) => i.name).sort();
  // history rankers (kg-song) add `history` [batch, fixed length]
  const withHistory = inputNames.includes(HISTORY_INPUT);
  const expected = withHistory ? [HISTORY_INPUT, ITEM_INDEX_INPUT, USER_INDEX_INPUT] : [ITEM_INDEX_INPUT, USER_INDEX_INPUT];
  if (inputNames.join(',') !== expected.sort().join(',')) {
    problems.push(`inputs must be ${USER_INDEX_INPUT} and ${ITEM_INDEX_INPUT} (and optionally ${HISTORY_INPUT}), declared: ${inputNames.join(', ')}`);
  }
  for (const input of spec.inputs) {
    if (input.dtype !== 'int64' && input.dtype !== 'int32') problems.push(`input ${input.name} is ${input.dtype}, core feeds int64 or int32`);
    if (input.name === HISTORY_INPUT) {
      const length = input.shape[1];
      if (input.shape.length !== 2) problems.push(`input ${input.name} has rank ${input.shape.length}, expected 2 ([batch, length])`);
      else if (typeof input.shape[0] === 'number') problems.push(`input ${input.name} has a fixed batch size ${input.shape[0]}; it must be symbolic`);
      else if (typeof length !== 'number' || !Number.isInteger(length) || length < 1) problems.push(`input ${input.name} must have a fixed length (shape [batch, n]), declared ${JSON.stringify(length)}`);
      continue;
    }
    if (input.shape.length !== 1) problems.push(`input ${input.name} has rank ${input.shape.length}, expected 1 ([batch])`);
    // Core puts every candidate of a request group into one run, so the batch size varies.
    else if (typeof input.shape[0] === 'number') problems.push(`input ${input.name} has a fixed batch size ${input.shape[0]}; it must be symbolic`);
  }
  const out = spec.outputs.find((o) => o.name === RANKER_OUTPUT);
  if (out === undefined) problems.push(`must output "${RANKER_OUTPUT}" (declared: ${spec.outputs.map((o) => o.name).join(', ')})`);
  else {
    if (out.dtype !== 'float32') problems.push(`output ${RANKER_OUTPUT} is ${out.dtype}, core reads float32`);
    if (out.shape.length !== 1) problems.push(`output ${RANKER_OUTPUT} has rank ${out.shape.length}, expected 1 ([batch])`);
  }
  if (problems.length > 0) {
    throw new BundleError('BUNDLE_INVALID', `${spec.file}: ranker graph "${name}" does not follow the ranker contract: ${problems.join('; ')}`, {
      file: spec.file,
      problems,
    });
  }
  return { name, spec, output: RANKER_OUTPUT, candidates: ranker.candidates };
}

function checkReferencedFilesListed(manifest: Manifest): void {
  const referenced: [string, string][] = [
    ['items.ids', manifest.items.ids],
    ['users.ids', manifest.users.ids],
    ['users.historyIndptr', manifest.users.historyIndptr],
    ['users.historyIndices', manifest.users.historyIndices],
  ];
  for (const [key, spec] of Object.entries(manifest.graphs)) referenced.push([`graphs.${key}.file`, spec.file]);
  if (manifest.items.embeddings !== undefined) referenced.push(['items.embeddings', manifest.items.embeddings]);
  if (manifest.kg !== undefined) referenced.push(['kg.file', manifest.kg.file]);
  for (const [field, name] of referenced) {
    if (!(name in manifest.files)) {
      throw new BundleError(
        'BUNDLE_INVALID',
        `${name}: referenced by ${MANIFEST_FILE} ${field} but not listed in files, so it cannot be verified`,
        { file: name, field },
      );
    }
  }
}

/** Refused from the manifest's declared size, before a hostile multi-gigabyte file is read. */
function checkKgFileSize(manifest: Manifest): void {
  const name = manifest.kg?.file;
  const bytes = name === undefined ? undefined : manifest.files[name]?.bytes;
  if (name !== undefined && bytes !== undefined && bytes > MAX_KG_FILE_BYTES) {
    throw new BundleError('BUNDLE_INVALID', `${name}: declares ${bytes} bytes, more than the ${MAX_KG_FILE_BYTES} a knowledge graph file may hold`, {
      file: name,
      bytes,
      limit: MAX_KG_FILE_BYTES,
    });
  }
}

function parseIdList(bytes: Uint8Array, name: string, count: number, countField: string): string[] {
  let json: unknown;
  try {
    json = JSON.parse(new TextDecoder().decode(bytes));
  } catch (cause) {
    throw new BundleError('BUNDLE_INVALID', `${name}: not valid JSON`, { file: name }, { cause });
  }
  if (!Array.isArray(json) || !json.every((v): v is string => typeof v === 'string')) {
    throw new BundleError('BUNDLE_INVALID', `${name}: must be a JSON array of strings`, { file: name });
  }
  if (json.length !== count) {
    throw new BundleError('BUNDLE_INVALID', `${name}: holds ${json.length} ids but ${countField} is ${count}`, {
      file: name,
      expected: count,
      actual: json.length,
    });
  }
  const seen = new Set<string>();
  for (const id of json) {
    if (seen.has(id)) throw new BundleError('BUNDLE_INVALID', `${name}: id ${JSON.stringify(id)} appears twice`, { file: name, id });
    seen.add(id);
  }
  return json;
}

function parseHistory(manifest: Manifest, indptrBytes: Uint8Array, indicesBytes: Uint8Array): LoadedBundle['history'] {
  const indptrName = manifest.users.historyIndptr;
  const indicesName = manifest.users.historyIndices;
  const users = manifest.users.count;
  if (indptrBytes.byteLength !== (users + 1) * 4) {
    throw new BundleError(
      'BUNDLE_INVALID',
      `${indptrName}: holds ${indptrBytes.byteLength} bytes but (users.count + 1) × 4 = ${(users + 1) * 4}`,
      { file: indptrName, expectedBytes: (users + 1) * 4, actualBytes: indptrBytes.byteLength },
    );
  }
  if (indicesBytes.byteLength % 4 !== 0) {
    throw new BundleError('BUNDLE_INVALID', `${indicesName}: ${indicesBytes.byteLength} bytes is not a whole number of uint32`, {
      file: indicesName,
    });
  }
  const indptr = uint32LE(indptrBytes);
  const indices = uint32LE(indicesBytes);
  if (indptr[0] !== 0) {
    throw new BundleError('BUNDLE_INVALID', `${indptrName}: first row pointer is ${indptr[0]}, must be 0`, { file: indptrName });
  }
  for (let u = 0; u < users; u++) {
    if ((indptr[u + 1] as number) < (indptr[u] as number)) {
      throw new BundleError('BUNDLE_INVALID', `${indptrName}: row pointers decrease at user row ${u}`, { file: indptrName, row: u });
    }
  }
  if (indptr[users] !== indices.length) {
    throw new BundleError(
      'BUNDLE_INVALID',
      `${indptrName}: last row pointer is ${indptr[users]} but ${indicesName} holds ${indices.length} entries`,
      { file: indptrName, expected: indices.length, actual: indptr[users] },
    );
  }
  const bad = indices.findIndex((i) => i >= manifest.items.count);
  if (bad >= 0) {
    throw new BundleError(
      'BUNDLE_INVALID',
      `${indicesName}: entry ${bad} is item row ${indices[bad]}, outside items.count ${manifest.items.count}`,
      { file: indicesName, position: bad },
    );
  }
  return { indptr, indices };
}

const LITTLE_ENDIAN_HOST = new Uint8Array(Uint16Array.of(1).buffer)[0] === 1;

/** Little-endian float32 file bytes as a Float32Array; copies when unaligned or on a big-endian host. */
export function float32LE(bytes: Uint8Array): Float32Array {
  const n = bytes.byteLength / 4;
  if (LITTLE_ENDIAN_HOST) {
    if (bytes.byteOffset % 4 === 0) return new Float32Array(bytes.buffer, bytes.byteOffset, n);
    // new Uint8Array(view) copies; Buffer#slice would not (it shares the pool).
    return new Float32Array(new Uint8Array(bytes).buffer);
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) out[i] = view.getFloat32(i * 4, true);
  return out;
}

/** Little-endian uint32 file bytes as a Uint32Array; copies when unaligned or on a big-endian host. */
export function uint32LE(bytes: Uint8Array): Uint32Array {
  const n = bytes.byteLength / 4;
  if (LITTLE_ENDIAN_HOST) {
    if (bytes.byteOffset % 4 === 0) return new Uint32Array(bytes.buffer, bytes.byteOffset, n);
    return new Uint32Array(new Uint8Array(bytes).buffer);
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const out = new Uint32Array(n);
  for (let i = 0; i < n; i++) out[i] = view.getUint32(i * 4, true);
  return out;
}
