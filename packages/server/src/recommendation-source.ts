import type { Recommender } from '@tastemaker/core/edge';

export interface SourceRequest {
  userId?: string | undefined;
  /** Item ids, oldest first. */
  history?: readonly string[] | undefined;
  k: number;
  exclude?: readonly string[] | undefined;
  excludeSeen?: boolean | undefined;
}

export interface SourceItem {
  itemId: string;
  score: number;
  /** a knowledge-graph path from the user's history (core fills it for bundles with a `kg` section) */
  explanation?: { text: string; relation: string; entity: string; viaItem: string } | undefined;
}

/**
 * What the server needs from a model: candidates with scores, whether an item id exists, and
 * optionally embeddings for contextual policies. core's Recommender plus its bundle satisfy it
 * through fromRecommender; tests use small in-memory sources.
 */
export interface RecommendationSource {
  recommend(request: SourceRequest): Promise<{ items: SourceItem[]; model: string }>;
  /** The model id responses carry. */
  readonly modelId: string;
  hasItem(itemId: string): boolean;
  /** Length of the vectors itemFeatures / userFeatures return (0 when the source has none). */
  readonly featureDim: number;
  itemFeatures?(itemId: string): Float32Array | undefined;
  userFeatures?(request: { userId?: string | undefined; history: readonly string[] }): Float32Array | undefined;
  /** Descriptive information for /v1/models. */
  info?(): Record<string, unknown>;
  dispose?(): Promise<void> | void;
}

/** The parts of a loaded bundle the adapter reads (core's LoadedBundle has them). */
export interface BundleView {
  readonly itemIds: readonly string[];
  readonly itemEmbeddings: Float32Array | undefined;
  readonly manifest: { readonly items: { readonly dim?: number | undefined } };
}

/**
 * Serves a core Recommender. With the bundle it was built from, the source also knows the item ids
 * (so events on unknown items are refused) and the item embeddings (features for LinUCB); the user
 * feature is the mean embedding of the user's recent history, a stand-in for the user tower's output
 * that the Recommender does not expose.
 */
export function fromRecommender(recommender: Recommender, bundle?: BundleView): RecommendationSource {
  const info = recommender.info();
  const rowById = new Map<string, number>((bundle?.itemIds ?? []).map((id, row) => [id, row]));
  const embeddings = bundle?.itemEmbeddings;
  const dim = embeddings !== undefined ? (bundle?.manifest.items.dim ?? 0) : 0;
  const itemFeatures = (itemId: string): Float32Array | undefined => {
    const row = rowById.get(itemId);
    if (row === undefined || embeddings === undefined || dim === 0) return undefined;
    return embeddings.subarray(row * dim, (row + 1) * dim);
  };
  return {
    modelId: info.modelId,
    featureDim: dim,
    async recommend(request) {
      return recommender.recommend({
        k: request.k,
        ...(request.userId !== undefined ? { userId: request.userId } : {}),
        ...(request.history !== undefined ? { history: request.history } : {}),
        ...(request.exclude !== undefined ? { exclude: request.exclude } : {}),
        ...(request.excludeSeen !== undefined ? { excludeSeen: request.excludeSeen } : {}),
      });
    },
    // Without the bundle every id is accepted: the Recommender alone cannot tell.
    hasItem: (itemId) => (bundle === undefined ? true : rowById.has(itemId)),
    itemFeatures,
    userFeatures({ history }) {
      if (dim === 0 || history.length === 0) return undefined;
      const sum = new Float32Array(dim);
      let n = 0;
      for (const id of history) {
        const v = itemFeatures(id);
        if (v === undefined) continue;
        for (let i = 0; i < dim; i++) sum[i] = (sum[i] as number) + (v[i] as number);
        n++;
      }
      if (n === 0) return undefined;
      for (let i = 0; i < dim; i++) sum[i] = (sum[i] as number) / n;
      return sum;
    },
    info: () => ({ ...recommender.info() }),
    dispose: () => recommender.dispose(),
  };
}
