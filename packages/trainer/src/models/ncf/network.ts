/**
 * Parameters and forward passes of the NCF family (He et al., WWW 2017):
 *
 *   GMF    φ_G = p_u^G ⊙ q_i^G
 *   MLP    φ_M = tower(concat(p_u^M, q_i^M))          (ReLU layers, e.g. 64-32-16-8)
 *   NeuMF  ŷ = σ(h · concat(φ_G, φ_M) + b)            (GMF: φ_G only, MLP: φ_M only)
 *
 * Embedding tables are engine EmbeddingTables (lazy-Adam rows); the tower is engine/dense Mlp on
 * tfjs; the output layer h, b is one more table row, so its gradient comes back like the embedding
 * rows' and GMF needs no tfjs at all. Scores are logits: the sigmoid does not change a ranking, and
 * saturated float32 probabilities would create ties that count against the held-out item.
 *
 * A user unknown at training time is served with the mean user embedding (row nUsers of the
 * exported tables), which ranks by what the model believes of the average user.
 */
import * as tf from '@tensorflow/tfjs-core';
import { type DenseSpec, Mlp } from '../../engine/dense.js';
import { EmbeddingTable } from '../../engine/embedding-table.js';
import { matMul } from '../../engine/gradients.js';
import type { Rng } from '../../engine/rng.js';
import type { NcfParams, NcfVariant } from './params.js';

export interface EmbeddingPair {
  user: EmbeddingTable;
  item: EmbeddingTable;
}

export interface NcfNetwork {
  variant: NcfVariant;
  nUsers: number;
  nItems: number;
  gmf: EmbeddingPair | undefined;
  mlp: (EmbeddingPair & { tower: Mlp }) | undefined;
  /** [h (width values), b]: h's first gmfDim entries weigh φ_G, the rest φ_M */
  out: EmbeddingTable;
}

/** Pairs per tfjs forward when scoring pairs (bounds the tower's intermediate tensors). */
const PAIR_CHUNK = 32768;
/** Users per tfjs program in scoreAll: [users · nItems, first hidden width] is the largest tensor. */
const USER_CHUNK = 48;

export function gmfWidth(net: NcfNetwork): number {
  return net.gmf?.user.dim ?? 0;
}

export function mlpWidth(net: NcfNetwork): number {
  return net.mlp ? net.mlp.tower.outputDim : 0;
}

export function outputWidth(net: NcfNetwork): number {
  return gmfWidth(net) + mlpWidth(net);
}

export function createNetwork(variant: NcfVariant, nUsers: number, nItems: number, p: NcfParams, rng: Rng): NcfNetwork {
  const init = { kind: 'normal', std: p.initStd } as const;
  const gmf = variant === 'mlp' ? undefined : { user: new EmbeddingTable(nUsers, p.gmfDim, rng, init), item: new EmbeddingTable(nItems, p.gmfDim, rng, init) };
  let mlp: NcfNetwork['mlp'];
  if (variant !== 'gmf') {
    const [concat, ...hidden] = p.mlpLayers as [number, ...number[]];
    const half = concat / 2;
    const specs: DenseSpec[] = hidden.map((units) => ({ units, activation: 'relu' }));
    mlp = { user: new EmbeddingTable(nUsers, half, rng, init), item: new EmbeddingTable(nItems, half, rng, init), tower: new Mlp(concat, specs, rng) };
  }
  const width = (gmf?.user.dim ?? 0) + (mlp?.tower.outputDim ?? 0);
  // LeCun-uniform, as the paper's Keras prediction layer; the bias starts at 0.
  const out = new EmbeddingTable(1, width + 1, new Float32Array(width + 1));
  const limit = Math.sqrt(3 / width);
  for (let j = 0; j < width; j++) out.values[j] = (2 * rng.next() - 1) * limit;
  return { variant, nUsers, nItems, gmf, mlp, out };
}

export function disposeNetwork(net: NcfNetwork): void {
  net.mlp?.tower.dispose();
}

/** Embedding rows of `table` for `users`, the mean row for users outside [0, rows). */
function gatherUsers(table: EmbeddingTable, users: Int32Array, mean: Float32Array | undefined): Float32Array {
  const out = table.gather(users);
  if (mean === undefined) return out;
  const d = table.dim;
  for (let b = 0; b < users.length; b++) {
    const u = users[b] as number;
    if (!(u >= 0 && u < table.rows)) out.set(mean, b * d);
  }
  return out;
}

/** Mean of a table's rows (the unknown user's embedding). */
export function meanRow(table: EmbeddingTable): Float32Array {
  const d = table.dim;
  const acc = new Float64Array(d);
  for (let r = 0; r < table.rows; r++) for (let j = 0; j < d; j++) acc[j] = (acc[j] as number) + (table.values[r * d + j] as number);
  return Float32Array.from(acc, (v) => (table.rows > 0 ? v / table.rows : 0));
}

function hasUnknown(users: Int32Array, nUsers: number): boolean {
  for (const u of users) if (!(u >= 0 && u < nUsers)) return true;
  return false;
}

/** Logits of pairs (users[b], items[b]); users outside [0, nUsers) are served as the mean user. */
export function scorePairs(net: NcfNetwork, users: Int32Array, items: Int32Array): Float32Array {
  const n = users.length;
  const width = outputWidth(net);
  const h = net.out.values;
  const logits = new Float32Array(n).fill(h[width] as number);
  const unknown = hasUnknown(users, net.nUsers);
  if (net.gmf) {
    const f = net.gmf.user.dim;
    const pu = gatherUsers(net.gmf.user, users, unknown ? meanRow(net.gmf.user) : undefined);
    const qv = net.gmf.item.values;
    for (let b = 0; b < n; b++) {
      const qi = (items[b] as number) * f;
      let s = 0;
      for (let j = 0; j < f; j++) s += (h[j] as number) * (pu[b * f + j] as number) * (qv[qi + j] as number);
      logits[b] = (logits[b] as number) + s;
    }
  }
  if (net.mlp) {
    const { tower, user, item } = net.mlp;
    const g = gmfWidth(net);
    const hm = tf.tensor2d(h.subarray(g, width), [width - g, 1]);
    const meanUser = unknown ? meanRow(user) : undefined;
    try {
      for (let s = 0; s < n; s += PAIR_CHUNK) {
        const e = Math.min(n, s + PAIR_CHUNK);
        const x = concatRows(gatherUsers(user, users.subarray(s, e), meanUser), item.gather(items.subarray(s, e)), e - s, user.dim, item.dim);
        const z = tf.tidy(() => matMul(tower.apply(tf.tensor2d(x, [e - s, user.dim + item.dim])), hm));
        const data = z.dataSync() as Float32Array;
        z.dispose();
        for (let b = s; b < e; b++) logits[b] = (logits[b] as number) + (data[b - s] as number);
      }
    } finally {
      hm.dispose();
    }
  }
  return logits;
}

/**
 * Rows `indices` of `table` written into `out` at column `offset` of rows `stride` wide: the
 * gathered user and item halves land directly in the tower's input, with no per-row views
 * (EmbeddingTable.gather's subarray per row showed up as garbage-collector time in profiles).
 */
export function gatherInto(table: EmbeddingTable, indices: Int32Array, out: Float32Array, stride: number, offset: number): void {
  const d = table.dim;
  const v = table.values;
  for (let b = 0; b < indices.length; b++) {
    const src = (indices[b] as number) * d;
    const dst = b * stride + offset;
    for (let j = 0; j < d; j++) out[dst + j] = v[src + j] as number;
  }
}

/** [rows, a + c] from row-major [rows, a] and [rows, c]. */
export function concatRows(left: Float32Array, right: Float32Array, rows: number, a: number, c: number): Float32Array {
  const out = new Float32Array(rows * (a + c));
  for (let r = 0; r < rows; r++) {
    out.set(left.subarray(r * a, (r + 1) * a), r * (a + c));
    out.set(right.subarray(r * c, (r + 1) * c), r * (a + c) + a);
  }
  return out;
}

/**
 * Logits of every item for each user, [users.length, nItems]. The tower's first layer is split
 * into its user and item halves, W1·[p; q] = W1u·p + W1i·q: the item half is computed once for all
 * items and each user adds its own row, which removes most of the work of scoring every pair.
 */
export function scoreAll(net: NcfNetwork, users: Int32Array): Float32Array {
  const nItems = net.nItems;
  const out = new Float32Array(users.length * nItems);
  const width = outputWidth(net);
  const h = net.out.values;
  const g = gmfWidth(net);
  const unknown = hasUnknown(users, net.nUsers);
  const keep: tf.Tensor[] = [];
  try {
    let gmfItemsT: tf.Tensor2D | undefined;
    let gmfUsers: Float32Array | undefined;
    if (net.gmf) {
      const f = g;
      // φ_G · h_G = Σ_j p_uj h_j q_ij: scale the user rows by h once, then one product with Qᵀ.
      gmfUsers = gatherUsers(net.gmf.user, users, unknown ? meanRow(net.gmf.user) : undefined);
      for (let b = 0; b < users.length; b++) for (let j = 0; j < f; j++) gmfUsers[b * f + j] = (gmfUsers[b * f + j] as number) * (h[j] as number);
      gmfItemsT = tf.tidy(() => tf.transpose(tf.tensor2d(net.gmf?.item.values ?? new Float32Array(0), [nItems, f])));
      keep.push(gmfItemsT);
    }
    let itemPart: tf.Tensor2D | undefined;
    let userHalf: tf.Tensor2D | undefined;
    let bias1: tf.Tensor1D | undefined;
    let hm: tf.Tensor2D | undefined;
    let mlpUsers: Float32Array | undefined;
    let first: Mlp['layers'][number] | undefined;
    if (net.mlp) {
      const { tower, user, item } = net.mlp;
      first = tower.layers[0];
      if (first === undefined) throw new Error('NCF tower has no hidden layer');
      const w1 = first.weight;
      const du = user.dim;
      userHalf = tf.tidy(() => tf.slice(w1, [0, 0], [du, first?.outputDim ?? 0])) as tf.Tensor2D;
      itemPart = tf.tidy(() => matMul(tf.tensor2d(item.values, [nItems, item.dim]), tf.slice(w1, [du, 0], [item.dim, first?.outputDim ?? 0]))) as tf.Tensor2D;
      bias1 = first.bias;
      hm = tf.tensor2d(h.subarray(g, width), [width - g, 1]);
      keep.push(userHalf, itemPart, hm);
      mlpUsers = gatherUsers(user, users, unknown ? meanRow(user) : undefined);
    }
    for (let s = 0; s < users.length; s += USER_CHUNK) {
      const e = Math.min(users.length, s + USER_CHUNK);
      const U = e - s;
      const scores = tf.tidy(() => {
        let total: tf.Tensor2D = tf.fill([U, nItems], h[width] as number);
        if (gmfUsers && gmfItemsT) total = tf.add(total, matMul(tf.tensor2d(gmfUsers.subarray(s * g, e * g), [U, g]), gmfItemsT)) as tf.Tensor2D;
        if (net.mlp && userHalf && itemPart && bias1 && hm && mlpUsers && first) {
          const L1 = first.outputDim;
          const du = net.mlp.user.dim;
          const a = tf.add(matMul(tf.tensor2d(mlpUsers.subarray(s * du, e * du), [U, du]), userHalf), bias1);
          let x: tf.Tensor2D = tf.reshape(tf.relu(tf.add(tf.reshape(a, [U, 1, L1]), tf.reshape(itemPart, [1, nItems, L1]))), [U * nItems, L1]);
          for (const layer of net.mlp.tower.layers.slice(1)) x = layer.apply(x);
          total = tf.add(total, tf.reshape(matMul(x, hm), [U, nItems])) as tf.Tensor2D;
        }
        return total;
      });
      out.set(scores.dataSync() as Float32Array, s * nItems);
      scores.dispose();
    }
  } finally {
    tf.dispose(keep);
  }
  return out;
}

/** A copy of every trainable parameter, for early stopping's best epoch. */
export interface NetworkState {
  tables: Float32Array[];
  dense: Float32Array[];
}

function tables(net: NcfNetwork): EmbeddingTable[] {
  return [net.gmf?.user, net.gmf?.item, net.mlp?.user, net.mlp?.item, net.out].filter((t): t is EmbeddingTable => t !== undefined);
}

export function captureNetwork(net: NcfNetwork): NetworkState {
  return {
    tables: tables(net).map((t) => t.values.slice()),
    dense: (net.mlp?.tower.variables() ?? []).map((v) => Float32Array.from(v.dataSync() as Float32Array)),
  };
}

export function restoreNetwork(net: NcfNetwork, state: NetworkState): void {
  tables(net).forEach((t, k) => t.values.set(state.tables[k] as Float32Array));
  (net.mlp?.tower.variables() ?? []).forEach((v, k) => {
    tf.tidy(() => v.assign(tf.tensor(state.dense[k] as Float32Array, v.shape)));
  });
}
