import type { LoadedBundle } from '../bundle/load-bundle.js';
import type { GraphSpec } from '../bundle/manifest.js';
import { BundleError, TastemakerError } from '../errors/index.js';
import { checkGraphSignature } from '../inference/graph-signature.js';
import type { GraphSession, InferenceBackend, TensorData } from '../inference/types.js';
import { StatelessPolicy } from '../policies/baseline-policies.js';
import { createRng, randomSeed, type Rng } from '../policies/rng.js';
import { checkNumber, epsilonGreedySlate, standardisedScores, uniqueCandidates } from '../policies/slate.js';
import type { PolicyCandidate, PolicyCommonOptions, PreparedState, RankedItem, SelectContext } from '../policies/types.js';
import { intTensor, openBundleGraph } from '../recommender/bundle-session.js';
import { dqnBelief } from './dqn-belief.js';
import { decodeDqnSideData, type DqnSideData } from './dqn-weights.js';

/**
 * The Q-network graph of a dqn rl section (trainer: rl/dqn/onnx.ts):
 *   liked, skipped          int64 [batch, N]  item rows, oldest first, RIGHT-padded (any valid row in the padding)
 *   liked_len, skipped_len  int64 [batch]     real entries per row
 *   candidates              int64 [C]         item rows to score
 *   prior                   float32 [batch, dim + 2]  the belief term φ₀ (dqn-belief.ts)
 * → q float32 [batch, C].
 */
export const DQN_GRAPH_INPUTS = ['liked', 'liked_len', 'skipped', 'skipped_len', 'candidates', 'prior'] as const;
export const DQN_GRAPH_OUTPUT = 'q';

/** What a DQN policy needs: the bundle's ids, the side data and an open Q-network session. */
export interface DqnModelData {
  side: DqnSideData;
  itemIds: readonly string[];
  userIds: readonly string[];
  session: GraphSession;
  spec: GraphSpec;
}

export interface DqnPolicyOptions extends PolicyCommonOptions {
  /** Probability of a uniformly random pick at each slate position. Default 0.1; 0 serves greedily. */
  epsilon?: number;
  rng?: Rng;
}

/**
 * A served DQN policy (no online updates: the Q-network is served as trained). The state is the
 * user's last N liked items and last N skipped items: a known user's training windows (shipped in
 * the side data) followed by their live history (liked) and live skip / dislike events (skipped),
 * the same layout the trainer's states have. `prepare` computes the belief term φ₀ for that state
 * and runs the Q-network once over the request's retrieved candidates; select ranks them by Q with
 * ε-greedy exploration per slate position (exact propensities). Served as trained: DQN bundles are
 * not updated online, so the policy is stateless.
 */
export class DqnPolicy extends StatelessPolicy {
  readonly kind = 'dqn' as const;
  // select reads the prepared values, not candidate or user features
  readonly usesFeatures = false;
  readonly stateSize: number;
  private readonly epsilon: number;
  private readonly scoreWeight: number;
  private readonly rng: Rng;
  private readonly itemRow: Map<string, number>;
  private readonly userRow: Map<string, number>;

  constructor(
    private readonly model: DqnModelData,
    options: DqnPolicyOptions = {},
  ) {
    super();
    this.epsilon = checkNumber('epsilon', options.epsilon ?? 0.1, 0, 1);
    this.scoreWeight = checkNumber('scoreWeight', options.scoreWeight ?? 0, 0);
    this.rng = options.rng ?? createRng(randomSeed());
    this.stateSize = model.side.stateSize;
    this.itemRow = new Map(model.itemIds.map((id, row) => [id, row]));
    this.userRow = new Map(model.userIds.map((id, row) => [id, row]));
  }

  /**
   * The state as logged: [user row (-1 unknown), N liked rows, N skipped rows (each oldest first,
   * -1 padding on the left), 2N observed ratings (NaN: none)]. Rows are exact in float32 up to 2^24.
   */
  stateFeatures(request: { userId?: string | undefined; history: readonly string[]; skipped?: readonly string[] }): Float32Array {
    const side = this.model.side;
    const N = side.stateSize;
    const user = request.userId === undefined ? -1 : (this.userRow.get(request.userId) ?? -1);
    const liked: [number, number][] = [];
    const skipped: [number, number][] = [];
    if (user >= 0) {
      // a known user's ridge is centred on their row, which already accounts for training ratings
      const centred = side.userPrior;
      for (let t = 0; t < N; t++) {
        const l = side.liked[user * N + t] as number;
        if (l >= 0) liked.push([l, centred ? NaN : (side.likedRatings[user * N + t] as number)]);
        const s = side.skipped[user * N + t] as number;
        if (s >= 0) skipped.push([s, centred ? NaN : (side.skippedRatings[user * N + t] as number)]);
      }
    }
    // live feedback counts as observed, with the ratings the trainer assumes for liked / skipped
    // items; without episodeBelief it is unobserved (NaN), which a known user's centred ridge skips
    // and an unknown user's reads with those same default ratings
    const liveLiked = side.episodeBelief ? side.likedRating : NaN;
    const liveSkipped = side.episodeBelief ? side.skippedRating : NaN;
    for (const id of request.history) {
      const row = this.itemRow.get(id);
      if (row !== undefined) liked.push([row, liveLiked]);
    }
    for (const id of request.skipped ?? []) {
      const row = this.itemRow.get(id);
      if (row !== undefined) skipped.push([row, liveSkipped]);
    }
    const out = new Float32Array(1 + 4 * N).fill(-1);
    out[0] = user;
    const place = (window: [number, number][], at: number) => {
      const take = window.slice(Math.max(0, window.length - N));
      take.forEach(([row, rating], j) => {
        out[1 + at + N - take.length + j] = row;
        out[1 + 2 * N + at + N - take.length + j] = rating;
      });
    };
    out.fill(NaN, 1 + 2 * N);
    place(liked, 0);
    place(skipped, N);
    return out;
  }

  async prepare(request: { userId?: string | undefined; history: readonly string[]; skipped: readonly string[]; candidates: readonly string[] }): Promise<PreparedState> {
    const userFeatures = this.stateFeatures(request);
    return { userFeatures, values: await this.qValues(userFeatures, request.candidates) };
  }

  /** Q(state, item) of each known candidate from one Q-network run (unknown ids are left out). */
  async qValues(features: Float32Array, itemIds: readonly string[]): Promise<Map<string, number>> {
    const side = this.model.side;
    const N = side.stateSize;
    if (features.length !== 1 + 4 * N) throw new TastemakerError('INVALID_ARGUMENT', `dqn: a state has ${1 + 4 * N} values, got ${features.length}`);
    const ids: string[] = [];
    const rows: number[] = [];
    for (const id of new Set(itemIds)) {
      const row = this.itemRow.get(id);
      if (row === undefined) continue;
      ids.push(id);
      rows.push(row);
    }
    const out = new Map<string, number>();
    if (rows.length === 0) return out;
    const state = new Int32Array(2 * N);
    const ratings = new Float64Array(2 * N);
    for (let t = 0; t < 2 * N; t++) {
      const v = features[1 + t] as number;
      state[t] = Number.isInteger(v) && v >= 0 && v < side.nItems ? v : -1;
      ratings[t] = features[1 + 2 * N + t] as number;
    }
    const u = features[0] as number;
    const prior = dqnBelief(side, Number.isInteger(u) ? u : -1, state, ratings);
    // the graph reads sequences left-aligned with a length; padding slots hold row 0
    const sequence = (at: number) => {
      const items = Array.from(state.subarray(at, at + N)).filter((i) => i >= 0);
      return { values: [...items, ...new Array<number>(N - items.length).fill(0)], length: items.length };
    };
    const liked = sequence(0);
    const skipped = sequence(N);
    const dtype = (name: string) => this.model.spec.inputs.find((i) => i.name === name)?.dtype ?? 'int64';
    const feeds: Record<string, TensorData> = {
      liked: intTensor(dtype('liked'), liked.values, [1, N]),
      liked_len: intTensor(dtype('liked_len'), [liked.length], [1]),
      skipped: intTensor(dtype('skipped'), skipped.values, [1, N]),
      skipped_len: intTensor(dtype('skipped_len'), [skipped.length], [1]),
      candidates: intTensor(dtype('candidates'), rows, [rows.length]),
      prior: { dtype: 'float32', data: prior, dims: [1, prior.length] },
    };
    const result = await this.model.session.run(feeds);
    const q = result[DQN_GRAPH_OUTPUT];
    if (q === undefined || q.dtype !== 'float32' || q.data.length !== rows.length) {
      const got = q === undefined ? 'nothing' : `${q.dtype} [${q.dims.join(', ')}]`;
      throw new BundleError('BUNDLE_SIGNATURE_MISMATCH', `${this.model.spec.file}: output q should be float32 [1, ${rows.length}] but the graph returned ${got}`, { file: this.model.spec.file });
    }
    ids.forEach((id, j) => out.set(id, q.data[j] as number));
    return out;
  }

  select(candidates: readonly PolicyCandidate[], k: number, context: SelectContext = {}): RankedItem[] {
    const cs = uniqueCandidates(candidates, k, context.distinct);
    const z = standardisedScores(cs);
    const q = context.values;
    // Without prepared values (select called directly) the model's order stands; with them a
    // candidate the Q-network could not score ranks last.
    const values = cs.map((c, i) => (q === undefined ? 0 : (q.get(c.itemId) ?? -Infinity)) + this.scoreWeight * (z[i] as number));
    return epsilonGreedySlate(values, cs, k, this.epsilon, this.rng);
  }


  async dispose(): Promise<void> {
    await this.model.session.dispose();
  }
}

function signatureProblem(spec: GraphSpec, message: string): BundleError {
  return new BundleError('BUNDLE_SIGNATURE_MISMATCH', `${spec.file}: ${message}`, { file: spec.file });
}

/** The DQN side data and Q-network spec of a bundle, every shape checked against the manifest; fails with a BundleError. */
export function dqnPartsFromBundle(bundle: LoadedBundle): { side: DqnSideData; spec: GraphSpec } {
  const rl = bundle.manifest.rl;
  if (rl === undefined || rl.algorithm !== 'dqn') {
    throw new BundleError('BUNDLE_UNSUPPORTED', `${bundle.location}: the bundle has no dqn rl section, so it cannot serve a DQN policy`);
  }
  const spec = bundle.manifest.graphs[rl.graph];
  if (spec === undefined) {
    throw new BundleError('BUNDLE_INVALID', `manifest.json: rl.graph names "${rl.graph}" but graphs has no such graph (has: ${Object.keys(bundle.manifest.graphs).join(', ')})`, { field: 'rl.graph' });
  }
  const bytes = bundle.files.get(rl.weights);
  if (bytes === undefined) throw new BundleError('BUNDLE_INVALID', `${rl.weights}: named by the rl section but not listed in files`, { file: rl.weights });
  let side: DqnSideData;
  try {
    side = decodeDqnSideData(bytes);
  } catch (e) {
    throw new BundleError('BUNDLE_INVALID', `${rl.weights}: ${e instanceof Error ? e.message : String(e)}`, { file: rl.weights });
  }
  if (side.nItems !== bundle.itemIds.length || side.nUsers !== bundle.userIds.length || side.stateSize !== rl.stateSize) {
    throw new BundleError(
      'BUNDLE_INVALID',
      `${rl.weights}: ${side.nItems} items, ${side.nUsers} users, state size ${side.stateSize}; the bundle has ${bundle.itemIds.length} items, ${bundle.userIds.length} users, rl.stateSize ${rl.stateSize}`,
      { file: rl.weights },
    );
  }
  const names = spec.inputs.map((i) => i.name);
  if (names.length !== DQN_GRAPH_INPUTS.length || DQN_GRAPH_INPUTS.some((n) => !names.includes(n))) {
    throw signatureProblem(spec, `a DQN Q-network takes inputs [${DQN_GRAPH_INPUTS.join(', ')}], the manifest declares [${names.join(', ')}]`);
  }
  const expected: Record<string, number | undefined> = { liked: side.stateSize, skipped: side.stateSize, prior: side.dim + 2 };
  for (const input of spec.inputs) {
    const want = expected[input.name];
    const got = input.shape[1];
    if (want !== undefined && got !== want) throw signatureProblem(spec, `input ${input.name} is declared [${input.shape.join(', ')}] but the side data needs width ${want}`);
  }
  if (!spec.outputs.some((o) => o.name === DQN_GRAPH_OUTPUT && o.dtype === 'float32')) throw signatureProblem(spec, `a DQN Q-network outputs float32 ${DQN_GRAPH_OUTPUT}`);
  return { side, spec };
}

/** A DQN policy serving a loaded bundle's dqn rl section: opens the Q-network on `backend`. */
export async function createDqnPolicy(bundle: LoadedBundle, backend: InferenceBackend, options: DqnPolicyOptions = {}): Promise<DqnPolicy> {
  const { side, spec } = dqnPartsFromBundle(bundle);
  const session = await openBundleGraph(bundle, backend, spec.file, bundle.manifest.rl?.graph ?? 'q_network', 'DQN Q-network');
  try {
    checkGraphSignature(spec, session);
    return new DqnPolicy({ side, spec, session, itemIds: bundle.itemIds, userIds: bundle.userIds }, options);
  } catch (error) {
    await session.dispose();
    throw error;
  }
}
