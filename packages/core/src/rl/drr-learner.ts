import type { Rng } from '../policies/rng.js';
import { DrrNetwork, drrLayout, type DrrShape } from './drr-network.js';

/**
 * Online DDPG for a served DRR policy (the trainer's ddpgUpdate, in typed arrays): a replay ring of
 * recent transitions, a critic step on the TD error against the clipped double-Q target, an actor
 * step on −Q(s, μ(s)) plus the penalty on the skip connection's correction, soft target updates.
 * The state module learns through the critic's loss only, as offline.
 *
 * Adding a transition only queues the updates it owes; `work` runs them a sample at a time, so a
 * server can spread one minibatch update (tens of ms on ML-100K-sized networks) over several turns
 * of its event loop and answer requests in between. The parameters change only at the two optimiser
 * steps and the target update, each run whole inside one call, so anything reading the weights
 * between calls sees a consistent network.
 */

export interface DrrTransition {
  /** user row, -1 when unknown */
  user: number;
  /** N item rows, oldest first, -1 for padding */
  state: Int32Array;
  /** the action the reward answers, length d */
  action: Float32Array;
  reward: number;
  nextState: Int32Array;
}

export interface DrrLearnerOptions {
  gamma: number;
  tau: number;
  actorLr: number;
  criticLr: number;
  batchSize: number;
  /** transitions kept for replay */
  replayCapacity: number;
  /** updates that train the critic alone before the actor follows */
  actorDelay: number;
  /** weight of the penalty on the squared size of the actor's correction (skip connection only) */
  priorWeight: number;
  /** DDPG updates per stored transition */
  updatesPerTransition: number;
  /**
   * Most updates queued and not yet run. Beyond it the newest transition's updates are dropped (and
   * counted): the transition itself still enters the replay, so later updates sample it; only the
   * number of gradient steps shrinks, which bounds the catch-up work after a burst of events.
   */
  maxPendingUpdates: number;
}

/**
 * Online defaults. The actor moves faster and is held less tightly to the MF direction than
 * offline (actor lr 1e-3 vs 1e-4, penalty 0.1 vs 1): live feedback is the signal this policy exists
 * to follow, and with the offline values a few thousand live transitions barely moved it (measured
 * on the synthetic set of test/rl-online.test.ts: click rate 0.695 → 0.705 with the offline values,
 * → 0.80 with these).
 */
export const DRR_LEARNER_DEFAULTS: DrrLearnerOptions = {
  gamma: 0.9,
  tau: 0.01,
  actorLr: 1e-3,
  criticLr: 1e-3,
  batchSize: 32,
  replayCapacity: 5000,
  actorDelay: 0,
  priorWeight: 0.1,
  updatesPerTransition: 1,
  maxPendingUpdates: 1000,
};

/** Adam over a flat parameter vector, restricted to the index ranges it owns. */
class RangeAdam {
  private readonly m: Float64Array;
  private readonly v: Float64Array;
  private t = 0;

  constructor(
    size: number,
    private readonly ranges: readonly (readonly [number, number])[],
    private readonly lr: number,
  ) {
    this.m = new Float64Array(size);
    this.v = new Float64Array(size);
  }

  step(params: Float32Array, grad: Float32Array): void {
    this.t++;
    const b1 = 0.9;
    const b2 = 0.999;
    const c1 = 1 - b1 ** this.t;
    const c2 = 1 - b2 ** this.t;
    for (const [from, to] of this.ranges) {
      for (let i = from; i < to; i++) {
        const g = grad[i] as number;
        const m = b1 * (this.m[i] as number) + (1 - b1) * g;
        const v = b2 * (this.v[i] as number) + (1 - b2) * g * g;
        this.m[i] = m;
        this.v[i] = v;
        params[i] = (params[i] as number) - (this.lr * (m / c1)) / (Math.sqrt(v / c2) + 1e-7);
      }
    }
  }
}

/** Fixed user/item rows the networks read (the bundle's items.f32 and the rl section's user rows). */
export interface DrrTables {
  dim: number;
  items: Float32Array;
  nItems: number;
  users: Float32Array | undefined;
  nUsers: number;
}

export function gatherUser(tables: DrrTables, user: number): Float32Array {
  const d = tables.dim;
  if (tables.users === undefined || user < 0 || user >= tables.nUsers) return new Float32Array(d);
  return tables.users.subarray(user * d, (user + 1) * d);
}

export function gatherState(tables: DrrTables, state: ArrayLike<number>): Float32Array {
  const d = tables.dim;
  const out = new Float32Array(state.length * d);
  for (let l = 0; l < state.length; l++) {
    const i = state[l] as number;
    if (i >= 0 && i < tables.nItems) out.set(tables.items.subarray(i * d, (i + 1) * d), l * d);
  }
  return out;
}

/** One DDPG update in progress: the critic pass over the batch, then the actor pass. */
interface UpdateJob {
  batch: readonly DrrTransition[];
  phase: 'critic' | 'actor';
  /** next sample of the current pass */
  j: number;
  grad: Float32Array;
}

export class DrrLearner {
  readonly online: DrrNetwork;
  readonly target: DrrNetwork;
  private readonly replay: DrrTransition[] = [];
  private next = 0;
  private readonly critic: RangeAdam;
  private readonly actor: RangeAdam;
  private readonly criticRanges: [number, number][];
  private readonly actorRanges: [number, number][];
  private job: UpdateJob | undefined;
  /** updates owed and not started */
  private queued = 0;
  updates = 0;
  /** updates not run because the queue was full (see maxPendingUpdates) */
  dropped = 0;

  constructor(
    shape: DrrShape,
    params: Float32Array,
    targetParams: Float32Array,
    private readonly tables: DrrTables,
    readonly options: DrrLearnerOptions,
    private readonly rng: Rng,
  ) {
    this.online = new DrrNetwork(shape, params);
    this.target = new DrrNetwork(shape, targetParams);
    const { offsets, sizes, total } = drrLayout(shape);
    const range = (name: keyof typeof offsets): [number, number] => [offsets[name], offsets[name] + sizes[name]];
    this.actorRanges = [range('actor.0.weight'), range('actor.0.bias'), range('actor.1.weight'), range('actor.1.bias')];
    this.criticRanges = [
      range('sm.weights'),
      range('interaction.weight'),
      range('interaction.bias'),
      range('critic.0.weight'),
      range('critic.0.bias'),
      range('critic.1.weight'),
      range('critic.1.bias'),
    ];
    this.critic = new RangeAdam(total, this.criticRanges, options.criticLr);
    this.actor = new RangeAdam(total, this.actorRanges, options.actorLr);
  }

  get replaySize(): number {
    return this.replay.length;
  }

  /** Updates queued or in progress. */
  get pending(): number {
    return this.queued + (this.job === undefined ? 0 : 1);
  }

  /**
   * Stores a transition and queues the configured updates once the replay holds a batch (up to
   * maxPendingUpdates). Returns the updates queued; `work` or `drain` runs them.
   */
  add(t: DrrTransition): number {
    if (this.replay.length < this.options.replayCapacity) this.replay.push(t);
    else this.replay[this.next] = t;
    this.next = (this.next + 1) % this.options.replayCapacity;
    if (this.replay.length < this.options.batchSize) return 0;
    // whole updates, as the loop that ran them inline counted them
    const owed = Math.ceil(this.options.updatesPerTransition);
    const room = Math.max(0, Math.floor(this.options.maxPendingUpdates) - this.pending);
    const queued = Math.min(owed, room);
    this.queued += queued;
    this.dropped += owed - queued;
    return queued;
  }

  /** Adds to the reward of a stored transition (a click arriving after its impression). */
  addReward(t: DrrTransition, delta: number): void {
    t.reward += delta;
  }

  /**
   * Runs queued updates for at most `steps` samples (one sample's forward and backward pass in the
   * critic or the actor pass; an update is 2 × batchSize of them), stopping early once `stop()` says
   * so (checked after every sample). Returns the updates it completed.
   */
  work(steps: number, stop?: () => boolean): number {
    let done = 0;
    for (let left = steps; left > 0; left--) {
      if (this.job === undefined) {
        if (this.queued === 0) break;
        this.queued--;
        this.job = this.startJob(this.sample());
      }
      this.advance(this.job, 1);
      if (this.job.phase === 'actor' && this.job.j >= this.job.batch.length) {
        this.finish(this.job);
        this.job = undefined;
        done++;
      }
      if (stop?.() === true) break;
    }
    return done;
  }

  /** Runs every queued update now; returns how many. */
  drain(): number {
    return this.work(Number.POSITIVE_INFINITY);
  }

  private sample(): DrrTransition[] {
    const out: DrrTransition[] = [];
    for (let j = 0; j < this.options.batchSize; j++) out.push(this.replay[Math.floor(this.rng.next() * this.replay.length)] as DrrTransition);
    return out;
  }

  private startJob(batch: readonly DrrTransition[]): UpdateJob {
    return { batch, phase: 'critic', j: 0, grad: new Float32Array(this.online.size) };
  }

  /**
   * Runs up to `steps` samples of the job's current pass; at the end of the critic pass it takes the
   * critic's step and moves on to the actor pass (or, during actorDelay, to an empty one). Returns
   * the samples run.
   */
  private advance(job: UpdateJob, steps: number): number {
    const { gamma, priorWeight } = this.options;
    const online = this.online;
    const B = job.batch.length;
    let used = 0;
    if (job.phase === 'critic') {
      for (; job.j < B && used < steps; job.j++, used++) {
        const t = job.batch[job.j] as DrrTransition;
        const u = gatherUser(this.tables, t.user);
        // The target with the weights as they are: nothing changes them before the critic's step
        // (continuing task: no terminal transitions online).
        const next = gatherState(this.tables, t.nextState);
        const tn = this.target.forward(u, next);
        const qTarget = this.target.critic(tn.s, tn.a).q;
        const qOnline = online.critic(online.forward(u, next).s, tn.a).q;
        const y = t.reward + gamma * Math.min(qTarget, qOnline);
        const trace = online.forward(u, gatherState(this.tables, t.state));
        const c = online.critic(trace.s, t.action);
        const err = c.q - y;
        const { ds } = online.criticBackward(c, t.action, (2 * err) / B, job.grad);
        online.stateBackward(trace, ds, job.grad);
      }
      if (job.j < B) return used;
      this.critic.step(online.params, job.grad);
      job.grad.fill(0);
      job.phase = 'actor';
      // During actorDelay the critic learns alone: an actor pass with nothing to do.
      job.j = this.updates >= this.options.actorDelay ? 0 : B;
    }
    for (; job.j < B && used < steps; job.j++, used++) {
      const t = job.batch[job.j] as DrrTransition;
      const trace = online.forward(gatherUser(this.tables, t.user), gatherState(this.tables, t.state));
      const c = online.critic(trace.s, trace.a);
      const { da } = online.criticBackward(c, trace.a, -1 / B, undefined);
      let draw: Float64Array | undefined;
      if (online.shape.skip && priorWeight > 0) draw = trace.raw.map((r) => (2 * priorWeight * r) / B);
      online.actorBackward(trace, da, draw, job.grad);
    }
    return used;
  }

  /** The actor's step (unless in actorDelay) and the soft target update. */
  private finish(job: UpdateJob): void {
    if (this.updates >= this.options.actorDelay) this.actor.step(this.online.params, job.grad);
    const P = this.online.params;
    const T = this.target.params;
    const tau = this.options.tau;
    for (let i = 0; i < P.length; i++) T[i] = tau * (P[i] as number) + (1 - tau) * (T[i] as number);
    this.updates++;
  }
}
