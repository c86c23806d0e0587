import { TastemakerError, invalidConfig } from '@tastemaker/core';
import type { Csr, KnowledgeGraph } from '../../data/dataset.js';
import { Rng } from '../../engine/rng.js';
import type { MatrixFactorizationExport } from '../../export/types.js';
import { ArrayAdam } from '../kgcn/array-adam.js';
import type { FitOptions, ModelFactory, TrainedModel, TrainInfo, TrainSet } from '../types.js';
import { checkScoreBatch, numberOption } from '../validation.js';
import { csrHas } from '../../data/csr.js';
import { knowledgeGraphOf } from '../../kg/item-kg.js';
import { knowledgeEdges, type KnowledgeEdges } from './knowledge-edges.js';

export { knowledgeEdges, type KnowledgeEdges } from './knowledge-edges.js';

/**
 * LightGCN (He et al., "LightGCN: Simplifying and Powering Graph Convolution Network for
 * Recommendation", SIGIR 2020): ego embeddings E⁰ of users and items, propagated over the
 * symmetric-normalised user–item graph Eᵏ⁺¹ = Â Eᵏ with Â = D^−½ A D^−½, final embedding = mean of
 * E⁰…E^K, score = dot product, BPR loss with L2 on the batch's ego embeddings.
 *
 * Typed arrays rather than tfjs: the work is a sparse–dense product over the whole graph, which
 * tfjs-core has no sparse kernel for. Because Â is symmetric, the gradient with respect to E⁰ is the
 * same propagation applied to the gradient of the final embeddings, so one routine serves forward
 * and backward (checked against finite differences in lightgcn.test.ts).
 *
 * `knowledge=graph` (KG-aware LightGCN): the same propagation over the collaborative knowledge
 * graph — user–item edges plus the item–entity and entity–entity edges of the data set's knowledge
 * graph (its own, e.g. Last.FM's, or one built from item metadata), with an embedding per entity
 * (see knowledge-edges.ts). The BPR loss still only scores users against items; entities carry
 * signal between items that share them. The result is still plain user and item embeddings.
 */

/** `extra.knowledge`: propagate over the interaction graph only, or over the collaborative KG. */
export const LIGHTGCN_KNOWLEDGE = ['none', 'graph'] as const;
export type LightGcnKnowledge = (typeof LIGHTGCN_KNOWLEDGE)[number];

/** The paper's settings (Gowalla / Yelp / Amazon-Book), with fewer epochs for small data. */
export const LIGHTGCN_DEFAULTS = {
  dim: 64,
  /** extra.layers: propagation layers K */
  layers: 3,
  epochs: 300,
  learningRate: 1e-3,
  batchSize: 2048,
  /** λ of the L2 term on the ego embeddings of each batch */
  l2: 1e-4,
  /** extra.initStd: standard deviation of the initial embeddings (the authors' PyTorch code) */
  initStd: 0.1,
  knowledge: 'none' as LightGcnKnowledge,
} as const;

export interface LightGcnParams {
  dim: number;
  layers: number;
  epochs: number;
  learningRate: number;
  batchSize: number;
  l2: number;
  initStd: number;
  knowledge: LightGcnKnowledge;
}

export function lightGcnParams(options: FitOptions): LightGcnParams {
  const extra = options.extra ?? {};
  const d = LIGHTGCN_DEFAULTS;
  const positiveInt = (v: number): boolean => Number.isInteger(v) && v >= 1;
  const positive = (v: number): boolean => Number.isFinite(v) && v > 0;
  return {
    dim: numberOption('lightgcn', 'dim', options.dim, d.dim, positiveInt, 'It must be a positive integer.'),
    layers: numberOption('lightgcn', 'layers', extra.layers, d.layers, (v) => Number.isInteger(v) && v >= 0, 'It must be an integer ≥ 0.'),
    epochs: numberOption('lightgcn', 'epochs', options.epochs, d.epochs, (v) => Number.isInteger(v) && v >= 0, 'It must be an integer ≥ 0.'),
    learningRate: numberOption('lightgcn', 'learningRate', options.learningRate, d.learningRate, positive, 'It must be a positive number.'),
    batchSize: numberOption('lightgcn', 'batchSize', options.batchSize, d.batchSize, positiveInt, 'It must be a positive integer.'),
    l2: numberOption('lightgcn', 'l2', options.l2, d.l2, (v) => Number.isFinite(v) && v >= 0, 'It must be a number ≥ 0.'),
    initStd: numberOption('lightgcn', 'initStd', extra.initStd, d.initStd, positive, 'It must be a positive number.'),
    knowledge: knowledgeOption(extra.knowledge),
  };
}

function knowledgeOption(value: unknown): LightGcnKnowledge {
  if (value === undefined) return LIGHTGCN_DEFAULTS.knowledge;
  if (typeof value !== 'string' || !(LIGHTGCN_KNOWLEDGE as readonly string[]).includes(value)) throw invalidConfig('lightgcn knowledge', value, LIGHTGCN_KNOWLEDGE);
  return value as LightGcnKnowledge;
}

/**
 * Â over users (rows 0…nUsers−1), items (rows nUsers…nUsers+nItems−1) and, with a knowledge graph,
 * its non-item entities (the rows after), as symmetric compressed rows.
 */
export interface NormalizedGraph {
  nodes: number;
  users: number;
  items: number;
  indptr: Int32Array;
  indices: Int32Array;
  weights: Float32Array;
}

/** The user–item graph, plus the edges of a collaborative knowledge graph when `kg` is given. */
export function normalizedGraph(csr: Csr, kg?: KnowledgeEdges): NormalizedGraph {
  const nU = csr.rows;
  const N = nU + csr.cols + (kg?.entityNodes ?? 0);
  const degree = new Int32Array(N);
  for (let u = 0; u < nU; u++) {
    degree[u] = csr.indptr[u + 1]! - csr.indptr[u]!;
    for (let e = csr.indptr[u]!; e < csr.indptr[u + 1]!; e++) degree[nU + csr.indices[e]!]!++;
  }
  const nKg = kg?.a.length ?? 0;
  for (let k = 0; k < nKg; k++) {
    degree[kg!.a[k]!]!++;
    degree[kg!.b[k]!]!++;
  }
  const indptr = new Int32Array(N + 1);
  for (let r = 0; r < N; r++) indptr[r + 1] = indptr[r]! + degree[r]!;
  const fill = indptr.slice(0, N);
  const indices = new Int32Array(indptr[N]!);
  const weights = new Float32Array(indptr[N]!);
  for (let u = 0; u < nU; u++) {
    for (let e = csr.indptr[u]!; e < csr.indptr[u + 1]!; e++) {
      const i = nU + csr.indices[e]!;
      const wgt = 1 / Math.sqrt(degree[u]! * degree[i]!);
      let s = fill[u]!++;
      indices[s] = i;
      weights[s] = wgt;
      s = fill[i]!++;
      indices[s] = u;
      weights[s] = wgt;
    }
  }
  for (let k = 0; k < nKg; k++) {
    const x = kg!.a[k]!;
    const y = kg!.b[k]!;
    const wgt = 1 / Math.sqrt(degree[x]! * degree[y]!);
    let s = fill[x]!++;
    indices[s] = y;
    weights[s] = wgt;
    s = fill[y]!++;
    indices[s] = x;
    weights[s] = wgt;
  }
  return { nodes: N, users: nU, items: csr.cols, indptr, indices, weights };
}

/** mean(X, ÂX, …, Â^K X) into `out` ([nodes, d]); `a` and `b` are scratch of the same size. */
export function propagate(graph: NormalizedGraph, x: Float32Array, d: number, layers: number, out: Float32Array, a: Float32Array, b: Float32Array): void {
  out.set(x);
  let cur = x;
  let next = a;
  for (let k = 0; k < layers; k++) {
    next.fill(0);
    for (let r = 0; r < graph.nodes; r++) {
      const base = r * d;
      for (let e = graph.indptr[r]!; e < graph.indptr[r + 1]!; e++) {
        const s = graph.indices[e]! * d;
        const wgt = graph.weights[e]!;
        for (let c = 0; c < d; c++) next[base + c] = next[base + c]! + wgt * cur[s + c]!;
      }
    }
    for (let k2 = 0; k2 < out.length; k2++) out[k2] = out[k2]! + next[k2]!;
    cur = next;
    next = next === a ? b : a;
  }
  const scale = 1 / (layers + 1);
  for (let k = 0; k < out.length; k++) out[k] = out[k]! * scale;
}

export interface LightGcnFactors {
  /** final (propagated) embeddings, [nUsers, dim] and [nItems, dim] */
  userFactors: Float32Array;
  itemFactors: Float32Array;
  losses: number[];
}

/**
 * The BPR loss of a batch of (u, i, j) triples over propagated embeddings F, plus
 * λ/2 · (|E⁰_u|² + |E⁰_i|² + |E⁰_j|²) / batch; adds dLoss/dF to `gF` and the L2 part to `gEgo`.
 * Node indices: users as is, items offset by nUsers.
 */
export function bprBatchLoss(
  F: Float32Array,
  ego: Float32Array,
  d: number,
  triples: { u: Int32Array; i: Int32Array; j: Int32Array },
  l2: number,
  gF: Float32Array,
  gEgo: Float32Array,
): number {
  const B = triples.u.length;
  let loss = 0;
  for (let b = 0; b < B; b++) {
    const u = triples.u[b]! * d;
    const i = triples.i[b]! * d;
    const j = triples.j[b]! * d;
    let x = 0;
    for (let c = 0; c < d; c++) x += F[u + c]! * (F[i + c]! - F[j + c]!);
    loss += (x > 0 ? Math.log1p(Math.exp(-x)) : -x + Math.log1p(Math.exp(x))) / B;
    // d(−ln σ(x))/dx = −σ(−x)
    const z = -(x > 0 ? Math.exp(-x) / (1 + Math.exp(-x)) : 1 / (1 + Math.exp(x))) / B;
    for (let c = 0; c < d; c++) {
      const fu = F[u + c]!;
      gF[u + c] = gF[u + c]! + z * (F[i + c]! - F[j + c]!);
      gF[i + c] = gF[i + c]! + z * fu;
      gF[j + c] = gF[j + c]! - z * fu;
    }
    for (const row of [u, i, j]) {
      for (let c = 0; c < d; c++) {
        const e = ego[row + c]!;
        loss += (l2 * e * e) / (2 * B);
        gEgo[row + c] = gEgo[row + c]! + (l2 * e) / B;
      }
    }
  }
  return loss;
}

/**
 * Trains on `csr`'s positives; with `kg`, over the collaborative knowledge graph (its non-item
 * entities get embeddings too, drawn after the users' and items', so both variants start from the
 * same user and item embeddings).
 */
export function trainLightGcn(
  csr: Csr,
  params: LightGcnParams,
  seed: number,
  onEpoch?: (epoch: number, loss: number) => void,
  kg?: KnowledgeGraph,
): LightGcnFactors {
  const { dim: d, layers, batchSize } = params;
  const nU = csr.rows;
  const nI = csr.cols;
  const graph = normalizedGraph(csr, kg ? knowledgeEdges(kg, nU, nI) : undefined);
  const N = graph.nodes;
  const rng = new Rng(seed);
  const ego = new Float32Array(N * d);
  for (let k = 0; k < ego.length; k++) ego[k] = rng.normal() * params.initStd;
  const F = new Float32Array(N * d);
  const gF = new Float32Array(N * d);
  const gEgo = new Float32Array(N * d);
  const s1 = new Float32Array(N * d);
  const s2 = new Float32Array(N * d);
  // every row moves each step (the propagation spreads each gradient over the graph): plain Adam
  const adam = new ArrayAdam(ego, params.learningRate);

  const nnz = csr.indptr[nU]!;
  const userOf = new Int32Array(nnz);
  for (let u = 0; u < nU; u++) userOf.fill(u, csr.indptr[u]!, csr.indptr[u + 1]!);
  const order = Int32Array.from({ length: nnz }, (_, e) => e);
  const tu = new Int32Array(batchSize);
  const ti = new Int32Array(batchSize);
  const tj = new Int32Array(batchSize);
  const losses: number[] = [];
  for (let epoch = 0; epoch < params.epochs; epoch++) {
    const epochRng = rng.fork();
    epochRng.shuffle(order);
    let lossSum = 0;
    let batches = 0;
    for (let start = 0; start < nnz; start += batchSize) {
      let B = 0;
      for (let t = start; t < Math.min(nnz, start + batchSize); t++) {
        const e = order[t]!;
        const u = userOf[e]!;
        if (csr.indptr[u + 1]! - csr.indptr[u]! >= nI) continue;
        let j = epochRng.int(nI);
        for (let tries = 0; tries < 64 && csrHas(csr, u, j); tries++) j = epochRng.int(nI);
        if (csrHas(csr, u, j)) continue;
        tu[B] = u;
        ti[B] = nU + csr.indices[e]!;
        tj[B] = nU + j;
        B++;
      }
      if (B === 0) continue;
      propagate(graph, ego, d, layers, F, s1, s2);
      gF.fill(0);
      gEgo.fill(0);
      lossSum += bprBatchLoss(F, ego, d, { u: tu.subarray(0, B), i: ti.subarray(0, B), j: tj.subarray(0, B) }, params.l2, gF, gEgo);
      batches++;
      propagate(graph, gF, d, layers, s1, F, s2);
      for (let k = 0; k < gEgo.length; k++) gEgo[k] = gEgo[k]! + s1[k]!;
      adam.step(gEgo);
    }
    const loss = batches > 0 ? lossSum / batches : 0;
    losses.push(loss);
    onEpoch?.(epoch + 1, loss);
  }
  propagate(graph, ego, d, layers, F, s1, s2);
  return { userFactors: F.slice(0, nU * d), itemFactors: F.slice(nU * d, (nU + nI) * d), losses };
}

class LightGcnModel implements TrainedModel {
  readonly id = 'lightgcn' as const;
  readonly nUsers: number;
  readonly nItems: number;
  private disposed = false;

  constructor(
    private readonly dim: number,
    private readonly factors: LightGcnFactors,
    readonly info: TrainInfo,
  ) {
    this.nUsers = factors.userFactors.length / dim;
    this.nItems = factors.itemFactors.length / dim;
  }

  /** Dot products of final embeddings; an unknown user is the mean of its history's item embeddings. */
  async scoreBatch(users: Int32Array, histories: readonly Int32Array[]): Promise<Float32Array> {
    if (this.disposed) throw new TastemakerError('DISPOSED', 'lightgcn model was disposed');
    checkScoreBatch('lightgcn', users, histories, this.nUsers, this.nItems);
    const d = this.dim;
    const n = this.nItems;
    const { userFactors: P, itemFactors: Q } = this.factors;
    const out = new Float32Array(users.length * n);
    const v = new Float64Array(d);
    for (let b = 0; b < users.length; b++) {
      const u = users[b]!;
      v.fill(0);
      if (u >= 0) for (let c = 0; c < d; c++) v[c] = P[u * d + c]!;
      else {
        const h = histories[b]!;
        for (const it of h) for (let c = 0; c < d; c++) v[c] = v[c]! + Q[it * d + c]!;
        if (h.length > 0) for (let c = 0; c < d; c++) v[c] = v[c]! / h.length;
      }
      for (let i = 0; i < n; i++) {
        let s = 0;
        for (let c = 0; c < d; c++) s += v[c]! * Q[i * d + c]!;
        out[b * n + i] = s;
      }
    }
    return out;
  }

  exportSpec(): MatrixFactorizationExport {
    if (this.disposed) throw new TastemakerError('DISPOSED', 'lightgcn model was disposed');
    return { kind: 'matrix-factorization', dim: this.dim, userFactors: this.factors.userFactors.slice(), itemFactors: this.factors.itemFactors.slice() };
  }

  dispose(): void {
    this.disposed = true;
  }
}

export const lightGcnModel: ModelFactory = {
  id: 'lightgcn',
  description:
    'LightGCN (He et al. 2020): user/item embeddings averaged over K propagation layers of the normalised interaction graph, BPR loss; --set knowledge=graph propagates over the collaborative knowledge graph (KG entities as extra nodes).',
  async fit(train: TrainSet, options: FitOptions): Promise<TrainedModel> {
    const params = lightGcnParams(options);
    const progress = options.progress;
    const started = performance.now();
    progress?.start('lightgcn: epochs', params.epochs);
    let factors: LightGcnFactors;
    try {
      const kg = params.knowledge === 'graph' ? knowledgeGraphOf(train.dataset) : undefined;
      factors = trainLightGcn(train.csr, params, options.seed, (epoch, loss) => progress?.update(epoch, { loss: Number(loss.toFixed(4)) }), kg);
    } finally {
      progress?.stop();
    }
    const seconds = (performance.now() - started) / 1000;
    const nnz = train.csr.indptr[train.csr.rows] ?? 0;
    options.log?.(`lightgcn: ${params.epochs} epochs over ${nnz} pairs (knowledge ${params.knowledge}) in ${seconds.toFixed(1)} s, final loss ${factors.losses.at(-1)?.toFixed(4) ?? 'n/a'}`);
    return new LightGcnModel(params.dim, factors, {
      backend: 'typed-arrays',
      epochs: params.epochs,
      samplesPerSecond: seconds > 0 ? Math.round((nnz * params.epochs) / seconds) : 0,
      params: { ...params },
    });
  },
};
