import type { LoadedBundle } from '../bundle/load-bundle.js';
import { HISTORY_INPUT, ITEM_INDEX_INPUT, USER_INDEX_INPUT, type TensorSpec } from '../bundle/manifest.js';
import { BundleError, TastemakerError } from '../errors/index.js';
import { checkGraphSignature } from '../inference/graph-signature.js';
import type { GraphSession, InferenceBackend, TensorData } from '../inference/types.js';
import type { SearchHit } from '../retrieval/types.js';
import { intTensor, openBundleGraph } from './bundle-session.js';

/**
 * The second stage of a two-stage bundle (manifest `ranker` section): retrieval (the bundle's user
 * graph with HNSW / exact search, or its scores graph) fetches at least `candidates` items per
 * request, and the ranker graph re-scores every (user, candidate) pair of a whole request group in
 * one batched run. The policy then sees the ranker's order and scores.
 */
export interface RankingStage {
  /** model id of the ranker, e.g. "neumf" */
  readonly kind: string;
  /** how many retrieved candidates each request hands to the ranker (at least k) */
  readonly candidates: number;
  /** the execution provider running the ranker graph */
  readonly provider: string;
  /**
   * Re-scores each request's candidates with the ranker and returns its best `ks[r]`, best first.
   * `userRows[r]` is the request's user row (users.count = unknown). `histories[r]` is the
   * request's history (item rows, oldest first: stored training history then the request's own);
   * a ranker with a `history` input (kg-song) reads its most recent `historyLength` items.
   */
  rerank(
    userRows: readonly number[],
    candidates: readonly (readonly SearchHit[])[],
    ks: readonly number[],
    histories?: readonly (readonly number[])[],
  ): Promise<SearchHit[][]>;
  /** the ranker graph's fixed history length, or undefined when it takes no history */
  readonly historyLength: number | undefined;
  dispose(): Promise<void>;
}

/** Opens the ranker graph of a two-stage bundle, or returns undefined for a single-stage one. */
export async function openRankingStage(bundle: LoadedBundle, backend: InferenceBackend): Promise<RankingStage | undefined> {
  const ranker = bundle.rankerGraph;
  const section = bundle.manifest.ranker;
  if (ranker === undefined || section === undefined) return undefined;
  const { spec } = ranker;
  const session = await openBundleGraph(bundle, backend, spec.file, ranker.name, 'ranker graph');
  try {
    checkGraphSignature(spec, session);
  } catch (error) {
    await session.dispose();
    throw error;
  }
  const input = (name: string): TensorSpec => spec.inputs.find((i) => i.name === name) as TensorSpec; // presence checked by the loader
  const history = spec.inputs.find((i) => i.name === HISTORY_INPUT);
  return new OnnxRankingStage(
    section.kind,
    ranker.candidates,
    spec.file,
    ranker.output,
    session,
    input(USER_INDEX_INPUT),
    input(ITEM_INDEX_INPUT),
    history,
    bundle.manifest.items.count,
  );
}

class OnnxRankingStage implements RankingStage {
  private session: GraphSession | undefined;

  constructor(
    readonly kind: string,
    readonly candidates: number,
    private readonly file: string,
    private readonly output: string,
    session: GraphSession,
    private readonly userInput: TensorSpec,
    private readonly itemInput: TensorSpec,
    /** present for history rankers; its length (shape[1]) is fixed, checked by the loader */
    private readonly historyInput: TensorSpec | undefined = undefined,
    /** items.count: the history padding value */
    private readonly padRow = 0,
  ) {
    this.session = session;
  }

  get historyLength(): number | undefined {
    const length = this.historyInput?.shape[1];
    return typeof length === 'number' ? length : undefined;
  }

  get provider(): string {
    return this.session?.provider ?? 'none';
  }

  async rerank(
    userRows: readonly number[],
    candidates: readonly (readonly SearchHit[])[],
    ks: readonly number[],
    histories?: readonly (readonly number[])[],
  ): Promise<SearchHit[][]> {
    const session = this.session;
    if (session === undefined) throw new TastemakerError('DISPOSED', 'Recommender has been disposed');
    const total = candidates.reduce((n, c) => n + c.length, 0);
    if (total === 0) return candidates.map(() => []);
    const users: number[] = new Array<number>(total);
    const items: number[] = new Array<number>(total);
    let at = 0;
    candidates.forEach((hits, r) => {
      const user = userRows[r] as number;
      for (const hit of hits) {
        users[at] = user;
        items[at] = hit.row;
        at++;
      }
    });
    const feeds: Record<string, TensorData> = {
      [USER_INDEX_INPUT]: intTensor(this.userInput.dtype, users, [total]),
      [ITEM_INDEX_INPUT]: intTensor(this.itemInput.dtype, items, [total]),
    };
    const length = this.historyLength;
    if (this.historyInput !== undefined && length !== undefined) {
      // Every pair of a request carries the request's most recent `length` items, oldest first,
      // padded at the end with items.count (any out-of-range row is padding by contract).
      const pad = this.padRow;
      const values: number[] = new Array<number>(total * length);
      at = 0;
      candidates.forEach((hits, r) => {
        const h = histories?.[r] ?? [];
        const recent = h.length > length ? h.slice(h.length - length) : h;
        for (let j = 0; j < hits.length; j++) {
          for (let t = 0; t < length; t++) values[at++] = t < recent.length ? (recent[t] as number) : pad;
        }
      });
      feeds[HISTORY_INPUT] = intTensor(this.historyInput.dtype, values, [total, length]);
    }
    const result = await session.run(feeds);
    const tensor = result[this.output];
    if (tensor === undefined || tensor.dtype !== 'float32' || tensor.data.length !== total) {
      const got = tensor === undefined ? 'nothing' : `${tensor.dtype} [${tensor.dims.join(', ')}]`;
      throw new BundleError('BUNDLE_SIGNATURE_MISMATCH', `${this.file}: output ${this.output} should be float32 [${total}] but the graph returned ${got}`, {
        file: this.file,
        output: this.output,
      });
    }
    const scores = tensor.data;
    at = 0;
    return candidates.map((hits, r) => {
      const scored = hits.map((hit, j) => {
        const s = scores[at + j] as number;
        // NaN would make the sort order undefined; a broken score ranks last instead.
        return { row: hit.row, score: Number.isNaN(s) ? Number.NEGATIVE_INFINITY : s, order: j };
      });
      at += hits.length;
      // Ties keep retrieval's order, so equal ranker scores stay deterministic.
      scored.sort((a, b) => b.score - a.score || a.order - b.order);
      return scored.slice(0, ks[r] ?? 0).map(({ row, score }) => ({ row, score }));
    });
  }

  async dispose(): Promise<void> {
    const session = this.session;
    this.session = undefined;
    await session?.dispose();
  }
}
