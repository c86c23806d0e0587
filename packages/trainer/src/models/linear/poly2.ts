/**
 * Poly2 (degree-2 polynomial logistic regression, as in Chang et al. 2010 and the FFM paper's
 * baseline): bias + Σ w_j x_j + Σ_{j<k} w_{h(j,k)} x_j x_k, one weight per feature pair, hashed into
 * a fixed number of buckets (the pair space of ids × ids × side features is too large to store).
 */
import type { GraphBuilder, Value } from '../../onnx/builder.js';
import type { SlotLearner } from '../pointwise/ctr-model.js';
import { logisticLoss, sigmoid } from '../pointwise/ctr-model.js';
import { HashedPairs } from './hashed-pairs.js';
import { LinearPart, slotPairs, type AdagradOptions } from './linear-part.js';

export interface Poly2Params extends AdagradOptions {
  buckets: number;
  /** L2 on pair weights */
  pairL2: number;
}

export class Poly2Learner implements SlotLearner {
  readonly linear: LinearPart;
  readonly pairs: HashedPairs;

  constructor(
    nFeatures: number,
    readonly K: number,
    readonly p: Poly2Params,
  ) {
    this.linear = new LinearPart(nFeatures, K, p);
    const { first, second } = slotPairs(K);
    this.pairs = new HashedPairs(first, second, p.buckets, { ...p, l2: p.pairL2 });
  }

  get params(): Record<string, unknown> {
    return { ...this.p };
  }

  logit(idx: Int32Array, val: Float32Array, o: number): number {
    return this.linear.logit(idx, val, o) + this.pairs.logit(idx, val, o);
  }

  step(idx: Int32Array, val: Float32Array, o: number, y: number): number {
    const z = this.logit(idx, val, o);
    const dz = sigmoid(z) - y;
    this.linear.update(idx, val, o, dz);
    this.pairs.update(idx, val, o, dz);
    return logisticLoss(z, y);
  }

  parameters(): Float32Array[] {
    return [...this.linear.parameters(), this.pairs.weight];
  }

  buildGraph(g: GraphBuilder, index: Value, value: Value): Value {
    const linear = this.linear.graph(g, index, value, 'poly2');
    return g.op('Add', [linear, this.pairs.graph(g, index, value, 'poly2.pairs')], {}, { name: 'poly2.logit' });
  }
}

/** Logistic regression: the linear part alone. */
export class LrLearner implements SlotLearner {
  readonly linear: LinearPart;

  constructor(
    nFeatures: number,
    K: number,
    readonly p: AdagradOptions,
  ) {
    this.linear = new LinearPart(nFeatures, K, p);
  }

  get params(): Record<string, unknown> {
    return { ...this.p };
  }

  logit(idx: Int32Array, val: Float32Array, o: number): number {
    return this.linear.logit(idx, val, o);
  }

  step(idx: Int32Array, val: Float32Array, o: number, y: number): number {
    const z = this.linear.logit(idx, val, o);
    this.linear.update(idx, val, o, sigmoid(z) - y);
    return logisticLoss(z, y);
  }

  parameters(): Float32Array[] {
    return this.linear.parameters();
  }

  buildGraph(g: GraphBuilder, index: Value, value: Value): Value {
    return this.linear.graph(g, index, value, 'lr');
  }
}
