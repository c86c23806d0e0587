import { TastemakerError } from '@tastemaker/core';
import type { Rng } from '../../engine/rng.js';

/**
 * Prioritised experience replay (Schaul et al., 2016), proportional variant: transition j is drawn
 * with probability p_j^α / Σ p^α, corrected by importance weights (N·P(j))^−β / max. A sum tree
 * keeps draws and priority updates O(log capacity). Transitions store item indices, not state
 * vectors, so the state module is re-run (and learns) on every replayed state. Written by hand:
 * no replay buffer exists for TypeScript/tfjs.
 */

export interface ReplayBatch {
  slots: Int32Array;
  users: Int32Array;
  /** [batch, stateSize] */
  states: Int32Array;
  /** [batch, actionDim] */
  actions: Float32Array;
  rewards: Float32Array;
  nextStates: Int32Array;
  dones: Float32Array;
  /** importance-sampling weights, max 1 */
  weights: Float32Array;
}

export class PrioritizedReplay {
  private readonly tree: Float64Array;
  private readonly users: Int32Array;
  private readonly states: Int32Array;
  private readonly actions: Float32Array;
  private readonly rewards: Float32Array;
  private readonly nextStates: Int32Array;
  private readonly dones: Uint8Array;
  private next = 0;
  private count = 0;
  private maxPriority = 1;

  constructor(
    readonly capacity: number,
    readonly stateSize: number,
    readonly actionDim: number,
    readonly alpha = 0.6,
    readonly epsilon = 1e-3,
  ) {
    if (!Number.isInteger(capacity) || capacity < 1) throw new TastemakerError('INVALID_CONFIG', `replay capacity must be a positive integer, got ${capacity}`);
    this.tree = new Float64Array(2 * capacity);
    this.users = new Int32Array(capacity);
    this.states = new Int32Array(capacity * stateSize);
    this.actions = new Float32Array(capacity * actionDim);
    this.rewards = new Float32Array(capacity);
    this.nextStates = new Int32Array(capacity * stateSize);
    this.dones = new Uint8Array(capacity);
  }

  get size(): number {
    return this.count;
  }

  /** Sum of all priorities^α (the tree's root). */
  get total(): number {
    return this.tree[1]!;
  }

  /** Adds a transition with the highest priority seen so far, so it is replayed at least once soon. */
  add(user: number, state: Int32Array, action: Float32Array, reward: number, nextState: Int32Array, done: boolean): void {
    const j = this.next;
    this.users[j] = user;
    this.states.set(state, j * this.stateSize);
    this.actions.set(action, j * this.actionDim);
    this.rewards[j] = reward;
    this.nextStates.set(nextState, j * this.stateSize);
    this.dones[j] = done ? 1 : 0;
    this.setLeaf(j, Math.pow(this.maxPriority, this.alpha));
    this.next = (j + 1) % this.capacity;
    this.count = Math.min(this.count + 1, this.capacity);
  }

  private setLeaf(j: number, value: number): void {
    let i = j + this.capacity;
    this.tree[i] = value;
    for (i >>= 1; i >= 1; i >>= 1) this.tree[i] = this.tree[2 * i]! + this.tree[2 * i + 1]!;
  }

  /** Leaf whose cumulative priority range contains `mass`. */
  private find(mass: number): number {
    let i = 1;
    while (i < this.capacity) {
      const left = this.tree[2 * i]!;
      if (mass < left) i = 2 * i;
      else {
        mass -= left;
        i = 2 * i + 1;
      }
    }
    return Math.min(i - this.capacity, this.count - 1);
  }

  /** Probability of drawing slot j. */
  probability(j: number): number {
    return this.tree[j + this.capacity]! / this.total;
  }

  /** Stratified draw: one transition from each of `batch` equal slices of the priority mass. */
  sample(batch: number, beta: number, rng: Rng): ReplayBatch {
    if (this.count === 0) throw new TastemakerError('INVALID_ARGUMENT', 'replay buffer is empty');
    const n = this.stateSize;
    const a = this.actionDim;
    const out: ReplayBatch = {
      slots: new Int32Array(batch),
      users: new Int32Array(batch),
      states: new Int32Array(batch * n),
      actions: new Float32Array(batch * a),
      rewards: new Float32Array(batch),
      nextStates: new Int32Array(batch * n),
      dones: new Float32Array(batch),
      weights: new Float32Array(batch),
    };
    const total = this.total;
    const slice = total / batch;
    let maxW = 0;
    for (let b = 0; b < batch; b++) {
      const j = this.find((b + rng.next()) * slice);
      out.slots[b] = j;
      out.users[b] = this.users[j]!;
      out.states.set(this.states.subarray(j * n, (j + 1) * n), b * n);
      out.actions.set(this.actions.subarray(j * a, (j + 1) * a), b * a);
      out.rewards[b] = this.rewards[j]!;
      out.nextStates.set(this.nextStates.subarray(j * n, (j + 1) * n), b * n);
      out.dones[b] = this.dones[j]!;
      const w = Math.pow(this.count * (this.tree[j + this.capacity]! / total), -beta);
      out.weights[b] = w;
      if (w > maxW) maxW = w;
    }
    for (let b = 0; b < batch; b++) out.weights[b] = out.weights[b]! / maxW;
    return out;
  }

  /** New priorities (|TD error|) for the slots of a sampled batch. */
  update(slots: Int32Array, tdErrors: Float32Array): void {
    for (let b = 0; b < slots.length; b++) {
      const p = Math.abs(tdErrors[b]!) + this.epsilon;
      if (p > this.maxPriority) this.maxPriority = p;
      this.setLeaf(slots[b]!, Math.pow(p, this.alpha));
    }
  }
}
