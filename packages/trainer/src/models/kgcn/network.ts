import type { SampledNeighbors } from '../../kg/adjacency.js';
import type { Rng } from '../../engine/rng.js';

/**
 * KGCN's forward and backward pass (Wang et al., "Knowledge Graph Convolutional Networks for
 * Recommender Systems", WWW 2019), written by hand over Float32Array.
 *
 * Why not tfjs: every sample walks its own item's sampled neighbourhood tree (a gather from the
 * entity table per hop) and weighs each neighbour by a softmax of user·relation scores that differ
 * per user. In tfjs that is a chain of gathers whose gradient (a scatter into the entity and
 * relation tables) the wasm backend lacks and the cpu backend computes densely per op; the engine's
 * embedding-table route does not fit either, because the gathered rows are indexed through the
 * graph rather than once per batch. The model is tiny (dim 16, one hop of 8 neighbours on Last.FM),
 * so a direct per-sample pass costs a few microseconds, and the backward pass below is checked
 * against finite differences in kgcn.test.ts.
 *
 * Notation (per (user u, item v) sample, H = nIter hops, n = neighbours per entity, d = dim):
 *   ent[0] = [entity of v], ent[h] = the n sampled neighbours of every entity of ent[h−1] (n^h),
 *   rel[h] = the relation of each of those edges.
 *   vec[0][h] = entity embeddings of ent[h]. Iteration i = 0…H−1 computes, for hop = 0…H−1−i,
 *     π = (u · R[rel]) / d  (KGCN's reduce_mean of u ⊙ r), a = softmax over the n neighbours,
 *     m = (1/n) Σ a · vec[i][hop+1]  (KGCN's code takes reduce_mean of the weighted neighbours, not
 *     the sum the paper writes), vec[i+1][hop] = act(agg(vec[i][hop], m) · W_i + b_i),
 *   act = ReLU except tanh on the last iteration, agg = self + m (sum), [self, m] (concat) or m (neighbor).
 *   logit = u · vec[H][0].
 */

export type KgcnAggregator = 'sum' | 'concat' | 'neighbor';
export const KGCN_AGGREGATORS: readonly KgcnAggregator[] = ['sum', 'concat', 'neighbor'];

export interface KgcnLayer {
  /** [inputDim, dim] with inputDim = 2·dim for concat, dim otherwise; y = x · W + b */
  weight: Float32Array;
  bias: Float32Array;
}

export interface KgcnWeights {
  nUsers: number;
  nItems: number;
  dim: number;
  nIter: number;
  aggregator: KgcnAggregator;
  neighbors: SampledNeighbors;
  /** entity of each item */
  itemEntity: Int32Array;
  /** [nUsers, dim] */
  user: Float32Array;
  /** [entityCount, dim] */
  entity: Float32Array;
  /** [selfRelation + 1, dim]: the graph's relations, then the self relation */
  relation: Float32Array;
  /** one per iteration */
  layers: KgcnLayer[];
}

/** Gradients with the shapes of KgcnWeights' trainable arrays. */
export interface KgcnGradients {
  user: Float32Array;
  entity: Float32Array;
  relation: Float32Array;
  layers: KgcnLayer[];
}

export function layerInputDim(aggregator: KgcnAggregator, dim: number): number {
  return aggregator === 'concat' ? 2 * dim : dim;
}

function xavier(rng: Rng, rows: number, cols: number): Float32Array {
  const limit = Math.sqrt(6 / (rows + cols));
  const out = new Float32Array(rows * cols);
  for (let k = 0; k < out.length; k++) out[k] = (2 * rng.next() - 1) * limit;
  return out;
}

/** Glorot-uniform tables and weights, zero biases, as KGCN's xavier_initializer. */
export function initKgcnWeights(
  config: { nUsers: number; nItems: number; dim: number; nIter: number; aggregator: KgcnAggregator },
  neighbors: SampledNeighbors,
  itemEntity: Int32Array,
  rng: Rng,
): KgcnWeights {
  const { nUsers, dim, nIter, aggregator } = config;
  const nRel = neighbors.selfRelation + 1;
  const inDim = layerInputDim(aggregator, dim);
  const layers: KgcnLayer[] = [];
  for (let i = 0; i < nIter; i++) layers.push({ weight: xavier(rng, inDim, dim), bias: new Float32Array(dim) });
  return {
    ...config,
    neighbors,
    itemEntity,
    user: xavier(rng, nUsers, dim),
    entity: xavier(rng, neighbors.entityCount, dim),
    relation: xavier(rng, nRel, dim),
    layers,
  };
}

export function zeroGradients(w: KgcnWeights): KgcnGradients {
  return {
    user: new Float32Array(w.user.length),
    entity: new Float32Array(w.entity.length),
    relation: new Float32Array(w.relation.length),
    layers: w.layers.map((l) => ({ weight: new Float32Array(l.weight.length), bias: new Float32Array(l.bias.length) })),
  };
}

/** Scratch buffers of one sample's pass, reused across samples so scoring allocates nothing. */
export class KgcnWorkspace {
  readonly ent: Int32Array[] = [];
  readonly rel: Int32Array[] = [];
  /** vec[i][h], i = 0…H, h = 0…H−i, [n^h, d] */
  readonly vec: Float32Array[][] = [];
  readonly dvec: Float32Array[][] = [];
  /** att[i][hop] [n^hop, n] and mix[i][hop] [n^hop, d], i = 0…H−1, hop = 0…H−1−i */
  readonly att: Float32Array[][] = [];
  readonly mix: Float32Array[][] = [];
  /** u · R[r] / d for every relation, for the user `scoredUser` */
  readonly relScore: Float64Array;
  /** which user relScore belongs to; −2 = none (call invalidate() after the weights change) */
  scoredUser = -2;
  private readonly dx: Float64Array;
  private readonly dm: Float64Array;
  private readonly da: Float64Array;
  private readonly z: Float64Array;

  constructor(readonly w: KgcnWeights) {
    const { nIter: H, dim: d } = w;
    const n = w.neighbors.size;
    for (let h = 0; h <= H; h++) {
      const count = n ** h;
      this.ent.push(new Int32Array(count));
      this.rel.push(new Int32Array(count));
    }
    for (let i = 0; i <= H; i++) {
      const v: Float32Array[] = [];
      const dv: Float32Array[] = [];
      for (let h = 0; h <= H - i; h++) {
        v.push(new Float32Array(n ** h * d));
        dv.push(new Float32Array(n ** h * d));
      }
      this.vec.push(v);
      this.dvec.push(dv);
    }
    for (let i = 0; i < H; i++) {
      const a: Float32Array[] = [];
      const m: Float32Array[] = [];
      for (let hop = 0; hop < H - i; hop++) {
        a.push(new Float32Array(n ** hop * n));
        m.push(new Float32Array(n ** hop * d));
      }
      this.att.push(a);
      this.mix.push(m);
    }
    this.relScore = new Float64Array(w.relation.length / d);
    this.dx = new Float64Array(layerInputDim(w.aggregator, d));
    this.dm = new Float64Array(d);
    this.da = new Float64Array(n);
    this.z = new Float64Array(d);
  }

  invalidate(): void {
    this.scoredUser = -2;
  }

  /**
   * The logit of (user vector `u`, item). `userKey` identifies `u` for the relation-score cache
   * (a user index, or nUsers for the stand-in of unknown users).
   */
  forward(u: Float32Array, userKey: number, item: number): number {
    const w = this.w;
    const { nIter: H, dim: d } = w;
    const n = w.neighbors.size;
    const adjE = w.neighbors.entities;
    const adjR = w.neighbors.relations;
    if (this.scoredUser !== userKey) {
      const R = w.relation;
      for (let r = 0; r < this.relScore.length; r++) {
        let s = 0;
        for (let c = 0; c < d; c++) s += u[c]! * R[r * d + c]!;
        this.relScore[r] = s / d;
      }
      this.scoredUser = userKey;
    }
    const ent = this.ent;
    const rel = this.rel;
    ent[0]![0] = w.itemEntity[item]!;
    for (let h = 1; h <= H; h++) {
      const prev = ent[h - 1]!;
      const cur = ent[h]!;
      const curRel = rel[h]!;
      for (let j = 0; j < prev.length; j++) {
        const e = prev[j]! * n;
        for (let k = 0; k < n; k++) {
          cur[j * n + k] = adjE[e + k]!;
          curRel[j * n + k] = adjR[e + k]!;
        }
      }
    }
    const E = w.entity;
    for (let h = 0; h <= H; h++) {
      const list = ent[h]!;
      const v = this.vec[0]![h]!;
      for (let j = 0; j < list.length; j++) v.set(E.subarray(list[j]! * d, list[j]! * d + d), j * d);
    }
    const z = this.z;
    for (let i = 0; i < H; i++) {
      const layer = w.layers[i]!;
      const W = layer.weight;
      const last = i === H - 1;
      for (let hop = 0; hop < H - i; hop++) {
        const self = this.vec[i]![hop]!;
        const neigh = this.vec[i]![hop + 1]!;
        const out = this.vec[i + 1]![hop]!;
        const a = this.att[i]![hop]!;
        const m = this.mix[i]![hop]!;
        const rels = rel[hop + 1]!;
        const count = n ** hop;
        for (let j = 0; j < count; j++) {
          let max = -Infinity;
          for (let k = 0; k < n; k++) {
            const s = this.relScore[rels[j * n + k]!]!;
            a[j * n + k] = s;
            if (s > max) max = s;
          }
          let sum = 0;
          for (let k = 0; k < n; k++) {
            const e = Math.exp(a[j * n + k]! - max);
            a[j * n + k] = e;
            sum += e;
          }
          for (let k = 0; k < n; k++) a[j * n + k] = a[j * n + k]! / sum;
          for (let c = 0; c < d; c++) {
            let s = 0;
            for (let k = 0; k < n; k++) s += a[j * n + k]! * neigh[(j * n + k) * d + c]!;
            m[j * d + c] = s / n;
          }
          for (let o = 0; o < d; o++) z[o] = layer.bias[o]!;
          const sOff = j * d;
          if (w.aggregator === 'sum') {
            for (let c = 0; c < d; c++) {
              const x = self[sOff + c]! + m[sOff + c]!;
              for (let o = 0; o < d; o++) z[o] = z[o]! + x * W[c * d + o]!;
            }
          } else if (w.aggregator === 'concat') {
            for (let c = 0; c < d; c++) {
              const xs = self[sOff + c]!;
              const xm = m[sOff + c]!;
              for (let o = 0; o < d; o++) z[o] = z[o]! + xs * W[c * d + o]! + xm * W[(d + c) * d + o]!;
            }
          } else {
            for (let c = 0; c < d; c++) {
              const x = m[sOff + c]!;
              for (let o = 0; o < d; o++) z[o] = z[o]! + x * W[c * d + o]!;
            }
          }
          for (let o = 0; o < d; o++) out[sOff + o] = last ? Math.tanh(z[o]!) : Math.max(0, z[o]!);
        }
      }
    }
    const v = this.vec[H]![0]!;
    let logit = 0;
    for (let c = 0; c < d; c++) logit += u[c]! * v[c]!;
    return logit;
  }

  /**
   * Adds the gradient of `dLogit · logit` (for the sample of the last forward call) to `g`, and
   * the user vector's part to `du`. Must follow forward() with the same weights.
   */
  backward(u: Float32Array, dLogit: number, g: KgcnGradients, du: Float64Array): void {
    const w = this.w;
    const { nIter: H, dim: d } = w;
    const n = w.neighbors.size;
    const R = w.relation;
    const v = this.vec[H]![0]!;
    const dTop = this.dvec[H]![0]!;
    for (let c = 0; c < d; c++) {
      dTop[c] = dLogit * u[c]!;
      du[c] = du[c]! + dLogit * v[c]!;
    }
    for (let i = 0; i < H; i++) for (const dv of this.dvec[i]!) dv.fill(0);
    const { dx, dm, da } = this;
    for (let i = H - 1; i >= 0; i--) {
      const layer = w.layers[i]!;
      const gl = g.layers[i]!;
      const W = layer.weight;
      const last = i === H - 1;
      for (let hop = 0; hop < H - i; hop++) {
        const self = this.vec[i]![hop]!;
        const neigh = this.vec[i]![hop + 1]!;
        const out = this.vec[i + 1]![hop]!;
        const dout = this.dvec[i + 1]![hop]!;
        const dself = this.dvec[i]![hop]!;
        const dneigh = this.dvec[i]![hop + 1]!;
        const a = this.att[i]![hop]!;
        const m = this.mix[i]![hop]!;
        const rels = this.rel[hop + 1]!;
        const count = n ** hop;
        for (let j = 0; j < count; j++) {
          const off = j * d;
          dx.fill(0);
          for (let o = 0; o < d; o++) {
            const y = out[off + o]!;
            const dz = dout[off + o]! * (last ? 1 - y * y : y > 0 ? 1 : 0);
            if (dz === 0) continue;
            gl.bias[o] = gl.bias[o]! + dz;
            for (let r = 0; r < dx.length; r++) dx[r] = dx[r]! + W[r * d + o]! * dz;
            if (w.aggregator === 'sum') {
              for (let c = 0; c < d; c++) gl.weight[c * d + o] = gl.weight[c * d + o]! + (self[off + c]! + m[off + c]!) * dz;
            } else if (w.aggregator === 'concat') {
              for (let c = 0; c < d; c++) {
                gl.weight[c * d + o] = gl.weight[c * d + o]! + self[off + c]! * dz;
                gl.weight[(d + c) * d + o] = gl.weight[(d + c) * d + o]! + m[off + c]! * dz;
              }
            } else {
              for (let c = 0; c < d; c++) gl.weight[c * d + o] = gl.weight[c * d + o]! + m[off + c]! * dz;
            }
          }
          if (w.aggregator === 'sum') {
            for (let c = 0; c < d; c++) {
              dself[off + c] = dself[off + c]! + dx[c]!;
              dm[c] = dx[c]!;
            }
          } else if (w.aggregator === 'concat') {
            for (let c = 0; c < d; c++) {
              dself[off + c] = dself[off + c]! + dx[c]!;
              dm[c] = dx[d + c]!;
            }
          } else {
            for (let c = 0; c < d; c++) dm[c] = dx[c]!;
          }
          // m = (1/n) Σ a_k n_k: each neighbour gets a_k·dm/n, each weight the dot of its neighbour with dm/n
          for (let c = 0; c < d; c++) dm[c] = dm[c]! / n;
          let dot = 0;
          for (let k = 0; k < n; k++) {
            const idx = j * n + k;
            const ak = a[idx]!;
            let s = 0;
            for (let c = 0; c < d; c++) {
              s += neigh[idx * d + c]! * dm[c]!;
              dneigh[idx * d + c] = dneigh[idx * d + c]! + ak * dm[c]!;
            }
            da[k] = s;
            dot += ak * s;
          }
          // softmax backward, then π = u·R[r]/d into the user and relation rows
          for (let k = 0; k < n; k++) {
            const idx = j * n + k;
            const dpi = (a[idx]! * (da[k]! - dot)) / d;
            if (dpi === 0) continue;
            const r = rels[idx]! * d;
            for (let c = 0; c < d; c++) {
              du[c] = du[c]! + dpi * R[r + c]!;
              g.relation[r + c] = g.relation[r + c]! + dpi * u[c]!;
            }
          }
        }
      }
    }
    for (let h = 0; h <= H; h++) {
      const list = this.ent[h]!;
      const dv = this.dvec[0]![h]!;
      for (let j = 0; j < list.length; j++) {
        const e = list[j]! * d;
        for (let c = 0; c < d; c++) g.entity[e + c] = g.entity[e + c]! + dv[j * d + c]!;
      }
    }
  }
}

/** Mean of the user table's rows: the stand-in for users unknown at training time. */
export function meanUser(w: KgcnWeights): Float32Array {
  const d = w.dim;
  const acc = new Float64Array(d);
  for (let u = 0; u < w.nUsers; u++) for (let c = 0; c < d; c++) acc[c] = acc[c]! + w.user[u * d + c]!;
  return Float32Array.from(acc, (x) => (w.nUsers > 0 ? x / w.nUsers : 0));
}
