import { loadBundle, type LoadedBundle } from '../bundle/load-bundle.js';
import { HISTORY_INPUT, USER_INDEX_INPUT, type GraphSpec, type Manifest, type TensorSpec } from '../bundle/manifest.js';
import type { BundleSource } from '../bundle/source.js';
import { BundleError, TastemakerError } from '../errors/index.js';
import { checkGraphSignature } from '../inference/graph-signature.js';
import { KgStage, type KgExplanation, type RecommenderKgOptions } from '../kg/index.js';
import type { GraphSession, InferenceBackend, TensorData } from '../inference/types.js';
import { ExactIndex } from '../retrieval/exact-index.js';
import { topK } from '../retrieval/top-k.js';
import type { SearchHit, VectorIndex } from '../retrieval/types.js';
import { intTensor, openBundleGraph } from './bundle-session.js';
import { openRankingStage, type RankingStage } from './ranking-stage.js';

export interface RecommendRequest {
  /**
   * A user from the bundle's users.json; their training history is used. Unknown ids are served as
   * new users (user_index = users.count). A new user with no known history gets the graph's
   * cold-start answer: bundles carry no popularity table yet, so there is no other fallback.
   */
  userId?: string;
  /** External item ids, oldest first; appended to a known user's training history. Unknown ids are ignored. */
  history?: readonly string[];
  /** How many items to return; a positive integer, default 10. */
  k?: number;
  /** External item ids never to return; ids the bundle does not know are ignored. */
  exclude?: readonly string[];
  /** Leave out items already in the user's history (training + given); default true. */
  excludeSeen?: boolean;
}

export interface ScoredItem {
  itemId: string;
  score: number;
  /** bundles with a knowledge graph: the best KG path from the user's history to this item, if any */
  explanation?: KgExplanation;
}

export interface Recommendation {
  items: ScoredItem[];
  /** Identifies the bundle that answered: `<model kind>@<first 12 hex of manifest.json's sha256>`. */
  model: string;
}

export interface RecommenderInfo {
  modelId: string;
  location: string;
  format: { name: string; version: number };
  createdAt: string;
  trainer: { name: string; version: string };
  model: { kind: string; scoring: Manifest['model']['scoring']; metric: Manifest['model']['metric']; maxHistory: number };
  dataset: Manifest['dataset'];
  metrics: Record<string, number>;
  items: { count: number; dim: number | undefined };
  users: { count: number };
  graphs: string[];
  index: { kind: string; size: number } | undefined;
  /** two-stage bundles: the ranker behind retrieval */
  ranker?: { kind: string; candidates: number; provider: string };
  /** bundles with a `kg` section */
  kg?: { relations: number; entities: number; edges: number; candidates: boolean; explanations: boolean };
  inference: { runtime: string; device: string; provider: string };
}

export interface Recommender {
  recommend(request: RecommendRequest): Promise<Recommendation>;
  /** Several requests in one graph run where the graph's batch dimension allows it. */
  recommendBatch(requests: readonly RecommendRequest[]): Promise<Recommendation[]>;
  info(): RecommenderInfo;
  /** Releases the session and the index; later calls throw DISPOSED. Waits for calls in flight. */
  dispose(): Promise<void>;
}

/** Builds the item index for an `embedding` bundle; called once, after the graph has been verified. */
export type IndexFactory = (bundle: LoadedBundle) => VectorIndex | Promise<VectorIndex>;

export interface RecommenderOptions {
  backend: InferenceBackend;
  /** An index or a factory for one; exact search over items.f32 by default. */
  index?: VectorIndex | IndexFactory;
  /** What to do with the bundle's knowledge graph, when it has one: explanations (on by default), KG candidates (off). */
  kg?: RecommenderKgOptions;
}

export interface RecommenderFromSourceOptions extends RecommenderOptions {
  source: BundleSource;
}

/** Loads and verifies a bundle from any source, then serves it on the given backend. */
export async function createRecommenderFromSource(options: RecommenderFromSourceOptions): Promise<Recommender> {
  const bundle = await loadBundle(options.source);
  return createRecommenderFromBundle(bundle, options);
}

/** Serves an already verified bundle: opens its user graph, checks its signature, builds the index. */
export async function createRecommenderFromBundle(bundle: LoadedBundle, options: RecommenderOptions): Promise<Recommender> {
  const { spec, name: graphName } = bundle.userGraph;
  // Before any session opens: a bad kg option is a configuration mistake, not a resource leak.
  const kg = KgStage.open(bundle, options.kg);
  const session = await openBundleGraph(bundle, options.backend, spec.file, graphName, 'graph');

  let index: VectorIndex | undefined;
  let ranker: RankingStage | undefined;
  try {
    checkGraphSignature(spec, session);
    checkFeedableInputs(spec);
    if (bundle.manifest.model.scoring === 'embedding') index = await buildIndex(bundle, options.index);
    ranker = await openRankingStage(bundle, options.backend);
  } catch (error) {
    index?.dispose();
    await session.dispose();
    throw error;
  }
  return new BundleRecommender(bundle, options.backend, session, index, ranker, kg);
}

async function buildIndex(bundle: LoadedBundle, index: RecommenderOptions['index']): Promise<VectorIndex> {
  const { manifest, itemEmbeddings } = bundle;
  if (itemEmbeddings === undefined || manifest.items.dim === undefined) {
    throw new BundleError('BUNDLE_INVALID', 'manifest.json: embedding scoring needs items.embeddings and items.dim', { file: 'manifest.json' });
  }
  const built =
    index === undefined
      ? new ExactIndex(itemEmbeddings, manifest.items.dim, { metric: manifest.model.metric })
      : typeof index === 'function'
        ? await index(bundle)
        : index;
  if (built.size !== manifest.items.count || built.dim !== manifest.items.dim) {
    built.dispose();
    throw new TastemakerError(
      'INVALID_ARGUMENT',
      `The item index holds ${built.size} × ${built.dim} vectors but the bundle has ${manifest.items.count} × ${manifest.items.dim}`,
    );
  }
  return built;
}

interface PreparedRequest {
  userRow: number;
  /** Every history item row (training + given), oldest first: where KG paths start. */
  seen: number[];
  /** Item rows fed to the graph: the most recent `maxHistory`. */
  fed: number[];
  excluded: Set<number>;
  k: number;
}

class BundleRecommender implements Recommender {
  private disposed = false;
  private readonly inflight = new Set<Promise<unknown>>();
  private readonly userRowById: Map<string, number>;
  private readonly itemRowById: Map<string, number>;
  private readonly modelId: string;
  private readonly historyInput: TensorSpec | undefined;
  private readonly userIndexInput: TensorSpec | undefined;
  /** Fixed history length when the graph declares one, else undefined (pad to the batch's longest). */
  private readonly fixedLength: number | undefined;
  /** Whether the graph accepts more than one row per run. */
  private readonly batchable: boolean;
  /** Scores KG candidates retrieval did not return; the exact index itself, or one built on first use. */
  private exactScorer: ExactIndex | undefined;

  constructor(
    private readonly bundle: LoadedBundle,
    private readonly backend: InferenceBackend,
    private session: GraphSession | undefined,
    private index: VectorIndex | undefined,
    private ranker: RankingStage | undefined = undefined,
    private readonly kg: KgStage | undefined = undefined,
  ) {
    this.userRowById = new Map(bundle.userIds.map((id, row) => [id, row]));
    this.itemRowById = new Map(bundle.itemIds.map((id, row) => [id, row]));
    this.modelId = `${bundle.manifest.model.kind}@${bundle.manifestSha256.slice(0, 12)}`;
    const inputs = bundle.userGraph.spec.inputs;
    this.historyInput = inputs.find((i) => i.name === HISTORY_INPUT);
    this.userIndexInput = inputs.find((i) => i.name === USER_INDEX_INPUT);
    const length = this.historyInput?.shape[1];
    this.fixedLength = typeof length === 'number' && length > 0 ? length : undefined;
    this.batchable = inputs.every((i) => typeof i.shape[0] !== 'number' || i.shape[0] !== 1);
  }

  async recommend(request: RecommendRequest): Promise<Recommendation> {
    const [one] = await this.recommendBatch([request]);
    if (one === undefined) throw new TastemakerError('INTERNAL', 'recommendBatch returned no result');
    return one;
  }

  async recommendBatch(requests: readonly RecommendRequest[]): Promise<Recommendation[]> {
    this.assertLive();
    if (!Array.isArray(requests)) throw new TastemakerError('INVALID_ARGUMENT', 'recommendBatch takes an array of requests');
    // Validation happens before any work so a bad request in a batch fails the call, not half of it.
    const prepared = requests.map((r, i) => this.prepare(r, requests.length > 1 ? i : undefined));
    const work = this.run(prepared);
    this.inflight.add(work);
    try {
      return await work;
    } finally {
      this.inflight.delete(work);
    }
  }

  private async run(prepared: PreparedRequest[]): Promise<Recommendation[]> {
    if (prepared.length === 0) return [];
    const groups = this.batchable ? [prepared] : prepared.map((p) => [p]);
    const out: Recommendation[] = [];
    for (const group of groups) {
      const rows = await this.infer(group);
      // Two-stage bundles: retrieval fetches the ranker's candidates, one ranker run re-scores the group.
      const ranker = this.ranker;
      let hitLists = group.map((p, i) => this.rank(rows, i, ranker ? { ...p, k: Math.max(p.k, ranker.candidates) } : p));
      // KG candidates join the pool scored by the model; the ranker (if any) then scores the whole pool.
      const kg = this.kg?.candidatesOn ? this.kg : undefined;
      const kgScores = kg ? group.map((p) => kg.candidates(p.seen, p.excluded)) : undefined;
      if (kg && kgScores) hitLists = hitLists.map((hits, i) => kg.union(hits, kgScores[i] as Map<number, number>, (items) => this.modelScores(rows, i, items)));
      if (ranker) {
        hitLists = await ranker.rerank(
          group.map((p) => p.userRow),
          hitLists,
          kg ? hitLists.map((h) => h.length) : group.map((p) => p.k),
          group.map((p) => p.seen),
        );
      }
      if (kg && kgScores) hitLists = hitLists.map((hits, i) => kg.blend(hits, kgScores[i] as Map<number, number>).slice(0, group[i]?.k));
      group.forEach((p, i) => {
        const hits = hitLists[i] ?? [];
        const explanations = this.kg?.explanationsOn ? this.kg.explanations(p.seen, hits.map((h) => h.row)) : undefined;
        out.push({
          items: hits.map((h, j) => {
            const explanation = explanations?.[j];
            return { itemId: this.bundle.itemIds[h.row] as string, score: h.score, ...(explanation ? { explanation } : {}) };
          }),
          model: this.modelId,
        });
      });
    }
    return out;
  }

  private prepare(request: RecommendRequest, position: number | undefined): PreparedRequest {
    const where = position === undefined ? '' : ` (request ${position})`;
    if (typeof request !== 'object' || request === null) {
      throw new TastemakerError('INVALID_ARGUMENT', `A recommend request must be an object${where}`);
    }
    const { userId, history, exclude } = request;
    const k = request.k ?? 10;
    if (typeof k !== 'number' || !Number.isInteger(k) || k <= 0) {
      throw new TastemakerError('INVALID_ARGUMENT', `k must be a positive integer, got ${JSON.stringify(k)}${where}`, { field: 'k' });
    }
    if (userId !== undefined && typeof userId !== 'string') {
      throw new TastemakerError('INVALID_ARGUMENT', `userId must be a string${where}`, { field: 'userId' });
    }
    if (userId === undefined && history === undefined) {
      throw new TastemakerError('INVALID_ARGUMENT', `Give a userId, a history, or both${where}`, { field: 'userId' });
    }
    checkIdArray(history, 'history', where);
    checkIdArray(exclude, 'exclude', where);

    const known = userId === undefined ? undefined : this.userRowById.get(userId);
    const userRow = known ?? this.bundle.manifest.users.count;
    const seen: number[] = [];
    if (known !== undefined) {
      const { indptr, indices } = this.bundle.history;
      for (let j = indptr[known] as number; j < (indptr[known + 1] as number); j++) seen.push(indices[j] as number);
    }
    for (const id of history ?? []) {
      const row = this.itemRowById.get(id);
      if (row !== undefined) seen.push(row);
    }
    const maxHistory = this.bundle.manifest.model.maxHistory;
    const limit = Math.min(maxHistory > 0 ? maxHistory : Infinity, this.fixedLength ?? Infinity);
    const fed = seen.length > limit ? seen.slice(seen.length - limit) : seen;

    const excluded = new Set<number>(request.excludeSeen === false ? [] : seen);
    for (const id of exclude ?? []) {
      const row = this.itemRowById.get(id);
      if (row !== undefined) excluded.add(row);
    }
    return { userRow, seen, fed, excluded, k };
  }

  /** One graph run for a group of requests; returns the output as [group.length, width] rows. */
  private async infer(group: PreparedRequest[]): Promise<{ data: Float32Array; width: number }> {
    const session = this.session;
    if (session === undefined) throw new TastemakerError('DISPOSED', 'Recommender has been disposed');
    const padding = this.bundle.manifest.items.count;
    const feeds: Record<string, TensorData> = {};
    if (this.userIndexInput !== undefined) {
      feeds[USER_INDEX_INPUT] = intTensor(this.userIndexInput.dtype, group.map((p) => p.userRow), [group.length]);
    }
    if (this.historyInput !== undefined) {
      // Never a zero-length axis: some runtimes and ops (mean, GRU) misbehave on it, and the padding
      // row contributes nothing by contract. Left padding keeps the most recent item last for
      // sequence models.
      const length = this.fixedLength ?? Math.max(1, ...group.map((p) => p.fed.length));
      const values: number[] = [];
      for (const p of group) {
        for (let j = p.fed.length; j < length; j++) values.push(padding);
        for (const row of p.fed) values.push(row);
      }
      feeds[HISTORY_INPUT] = intTensor(this.historyInput.dtype, values, [group.length, length]);
    }
    const { output } = this.bundle.userGraph;
    const result = await session.run(feeds);
    const tensor = result[output];
    const width = this.bundle.manifest.model.scoring === 'embedding' ? this.bundle.manifest.items.dim : this.bundle.manifest.items.count;
    if (tensor === undefined || tensor.dtype !== 'float32' || width === undefined || tensor.data.length !== group.length * width) {
      const got = tensor === undefined ? 'nothing' : `${tensor.dtype} [${tensor.dims.join(', ')}]`;
      throw new BundleError(
        'BUNDLE_SIGNATURE_MISMATCH',
        `${this.bundle.userGraph.spec.file}: output ${output} should be float32 [${group.length}, ${width}] but the graph returned ${got}`,
        { file: this.bundle.userGraph.spec.file, output },
      );
    }
    return { data: tensor.data, width };
  }

  /** The model's scores of chosen items for request i, as its retrieval scores them (KG candidates). */
  private modelScores(rows: { data: Float32Array; width: number }, i: number, items: readonly number[]): SearchHit[] {
    const row = rows.data.subarray(i * rows.width, (i + 1) * rows.width);
    if (this.bundle.manifest.model.scoring === 'scores') return items.map((item) => ({ row: item, score: row[item] ?? -Infinity }));
    const vectors = this.bundle.itemEmbeddings;
    if (vectors === undefined) return items.map((item) => ({ row: item, score: -Infinity }));
    // The exact index scores rows the way retrieval does (metric included); an HNSW bundle gets one on first use.
    this.exactScorer ??= this.index instanceof ExactIndex ? this.index : new ExactIndex(vectors, rows.width, { metric: this.bundle.manifest.model.metric });
    return this.exactScorer.rerank(row, items, items.length);
  }

  private rank(rows: { data: Float32Array; width: number }, i: number, p: PreparedRequest): SearchHit[] {
    const row = rows.data.subarray(i * rows.width, (i + 1) * rows.width);
    if (this.bundle.manifest.model.scoring === 'scores') return topK(row, p.k, p.excluded);
    if (this.index === undefined) throw new TastemakerError('DISPOSED', 'Recommender has been disposed');
    return this.index.search(row, p.k, p.excluded);
  }

  info(): RecommenderInfo {
    this.assertLive();
    const m = this.bundle.manifest;
    return {
      modelId: this.modelId,
      location: this.bundle.location,
      format: { name: m.format, version: m.formatVersion },
      createdAt: m.createdAt,
      trainer: { ...m.trainer },
      model: { kind: m.model.kind, scoring: m.model.scoring, metric: m.model.metric, maxHistory: m.model.maxHistory },
      dataset: m.dataset,
      metrics: { ...m.metrics },
      items: { count: m.items.count, dim: m.items.dim },
      users: { count: m.users.count },
      graphs: Object.keys(m.graphs),
      index: this.index === undefined ? undefined : { kind: this.index.kind, size: this.index.size },
      ...(this.ranker ? { ranker: { kind: this.ranker.kind, candidates: this.ranker.candidates, provider: this.ranker.provider } } : {}),
      ...(this.kg
        ? {
            kg: {
              relations: this.kg.kg.relationNames.length,
              entities: this.kg.kg.entityNames.length,
              edges: this.kg.kg.itemEntities.length,
              candidates: this.kg.candidatesOn,
              explanations: this.kg.explanationsOn,
            },
          }
        : {}),
      inference: { runtime: this.backend.name, device: this.backend.device, provider: this.session?.provider ?? 'none' },
    };
  }

  async dispose(): Promise<void> {
    if (this.disposed) return;
    this.disposed = true;
    await Promise.allSettled([...this.inflight]);
    const session = this.session;
    this.session = undefined;
    if (this.exactScorer !== this.index) this.exactScorer?.dispose();
    this.exactScorer = undefined;
    this.index?.dispose();
    this.index = undefined;
    const ranker = this.ranker;
    this.ranker = undefined;
    await session?.dispose();
    await ranker?.dispose();
  }

  private assertLive(): void {
    if (this.disposed) throw new TastemakerError('DISPOSED', 'Recommender has been disposed');
  }
}

const FEEDABLE_INPUTS = new Set([USER_INDEX_INPUT, HISTORY_INPUT]);

/**
 * Checked after the signature so that a manifest naming an input the graph lacks is reported as the
 * mismatch it is; only when manifest and graph agree on an input core cannot feed is it unsupported.
 */
function checkFeedableInputs(spec: GraphSpec): void {
  const unknown = spec.inputs.filter((i) => !FEEDABLE_INPUTS.has(i.name));
  if (unknown.length > 0) {
    throw new BundleError(
      'BUNDLE_UNSUPPORTED',
      `${spec.file}: inputs ${unknown.map((i) => i.name).join(', ')} are not ones core can feed (${[...FEEDABLE_INPUTS].join(', ')})`,
      { file: spec.file, inputs: unknown.map((i) => i.name) },
    );
  }
  for (const input of spec.inputs) {
    if (input.dtype !== 'int64' && input.dtype !== 'int32') {
      throw new BundleError('BUNDLE_UNSUPPORTED', `${spec.file}: input ${input.name} is ${input.dtype}; core feeds int64 or int32`, {
        file: spec.file,
        input: input.name,
      });
    }
  }
}

function checkIdArray(value: unknown, field: string, where: string): void {
  if (value === undefined) return;
  if (!Array.isArray(value) || !value.every((v) => typeof v === 'string')) {
    throw new TastemakerError('INVALID_ARGUMENT', `${field} must be an array of item id strings${where}`, { field });
  }
}
