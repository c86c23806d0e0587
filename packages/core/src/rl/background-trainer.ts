import { TastemakerError } from '../errors/index.js';
import type { BackgroundLearning, BackgroundLearningStats, Policy } from '../policies/types.js';
import type { PolicyStateEntry, Store } from '../store/types.js';

/**
 * Runs the background learning of policies that have it (see BackgroundLearning: DRR's DDPG
 * updates) off the request path, on the same event loop, and checkpoints their state.
 *
 * Work runs in slices: one slice per turn of the event loop, each at most `sliceMs` long (and
 * `sliceSteps` units of work), so a request arriving meanwhile waits for one slice at most, not for
 * the whole queue. The next slice must come after pending I/O: queueMicrotask (or a resolved
 * promise) runs before any I/O callback and would starve requests exactly as running inline does.
 * setImmediate does that best (node runs it right after the I/O poll, with no delay) but is not in
 * every runtime, so it is used where it exists (node, Bun) and `setTimeout(fn, 0)` elsewhere
 * (browsers, Deno, Workers: a timer also lets I/O run first, at the cost of a clamped delay; a
 * MessageChannel would avoid the delay but keeps a node process alive until closed).
 *
 * Durability: events are committed with the request that reports them; a policy's learned state is
 * a checkpoint written in its own store write every `checkpointUpdates` updates or `checkpointMs`
 * after its last one, on `checkpoint()`, `idle()` and `close()`. A crash loses at most the updates
 * since the last checkpoint (and the queued ones); the events they came from stay in the log.
 */

export interface BackgroundTrainerOptions {
  store: Store;
  /** Policies by name; those without `background` are left alone. */
  policies: ReadonlyMap<string, Policy>;
  /**
   * Longest slice of work per event-loop turn, ms. Default 2: on ML-100K DRR with feedback arriving
   * faster than updates run, 2 ms slices kept recommend p99 near 50-60 ms against 70-105 ms with 4
   * ms slices (measured with setTimeout turns).
   */
  sliceMs?: number;
  /**
   * Most units of work per slice whatever the clock says: some edge runtimes do not advance their
   * clock during synchronous code, so the time budget alone would never end a slice there. Default 128.
   */
  sliceSteps?: number;
  /** Checkpoint a policy after this many updates since its last checkpoint. Default 500. */
  checkpointUpdates?: number;
  /** ...or once it has changed and this long has passed since its last checkpoint, ms. Default 30,000. */
  checkpointMs?: number;
  /** Wall clock for checkpoint times, ms since the epoch. Default Date.now. */
  now?: () => number;
  /** Clock for slice budgets, ms. Default performance.now. */
  clock?: () => number;
  /**
   * Called when a slice or a checkpoint fails; default: ignored. A failed checkpoint is retried with
   * the next one; a policy whose work throws gets no more slices (it keeps serving its weights).
   */
  onError?: (error: unknown, info: { policy: string; during: 'work' | 'checkpoint' }) => void;
}

export interface BackgroundPolicyStats extends BackgroundLearningStats {
  /** checkpoints written by this trainer */
  checkpoints: number;
  /** when the last checkpoint was written (ms since the epoch); undefined before the first */
  lastCheckpointAt: number | undefined;
}

interface Tracked {
  name: string;
  policy: Policy;
  background: BackgroundLearning;
  /** updates since the last checkpoint snapshot */
  since: number;
  lastCheckpointAt: number | undefined;
  /** time the interval for checkpointMs counts from */
  intervalStart: number;
  checkpoints: number;
  /** its work threw: it gets no more slices (the error repeats otherwise, every turn) */
  failed: boolean;
}

export class BackgroundTrainer {
  private readonly store: Store;
  private readonly tracked: Tracked[];
  private readonly sliceMs: number;
  private readonly sliceSteps: number;
  private readonly checkpointUpdates: number;
  private readonly checkpointMs: number;
  private readonly now: () => number;
  private readonly clock: () => number;
  private readonly onError: NonNullable<BackgroundTrainerOptions['onError']>;
  /** cancels the scheduled slice; undefined when none is */
  private sliceTimer: (() => void) | undefined;
  private checkpointTimer: ReturnType<typeof setTimeout> | undefined;
  /** policy to start the next slice with, so several background policies take turns */
  private turn = 0;
  private closed = false;
  private drained: (() => void)[] = [];
  /** checkpoint writes, one after another, so an older snapshot never lands after a newer one */
  private writes: Promise<void> = Promise.resolve();

  constructor(options: BackgroundTrainerOptions) {
    this.store = options.store;
    this.now = options.now ?? Date.now;
    this.clock = options.clock ?? (() => performance.now());
    this.sliceMs = positive('sliceMs', options.sliceMs ?? 2);
    this.sliceSteps = positive('sliceSteps', options.sliceSteps ?? 128);
    this.checkpointUpdates = positive('checkpointUpdates', options.checkpointUpdates ?? 500);
    this.checkpointMs = positive('checkpointMs', options.checkpointMs ?? 30_000);
    this.onError = options.onError ?? (() => undefined);
    const start = this.now();
    this.tracked = [...options.policies]
      .filter((e): e is [string, Policy & { background: BackgroundLearning }] => e[1].background !== undefined)
      .map(([name, policy]) => ({ name, policy, background: policy.background, since: 0, lastCheckpointAt: undefined, intervalStart: start, checkpoints: 0, failed: false }));
  }

  /** Whether any policy learns in the background. */
  get active(): boolean {
    return this.tracked.length > 0;
  }

  /** Queued work of every background policy, by name. */
  stats(): Map<string, BackgroundPolicyStats> {
    return new Map(this.tracked.map((t) => [t.name, { ...t.background.stats(), checkpoints: t.checkpoints, lastCheckpointAt: t.lastCheckpointAt }]));
  }

  /** Starts slices if any policy has queued work (the OnlineLearner calls it after feeding them). */
  wake(): void {
    if (this.closed || this.sliceTimer !== undefined || !this.hasPending()) return;
    this.sliceTimer = afterIo(() => this.slice());
  }

  /**
   * Resolves once every queued update has run and the state it changed is checkpointed (for tests,
   * benchmarks and operations); rejects when that checkpoint fails. Work queued while waiting is
   * waited for too.
   */
  async idle(): Promise<void> {
    for (;;) {
      if (!this.closed && this.hasPending()) {
        this.wake();
        await new Promise<void>((resolve) => this.drained.push(resolve));
        continue;
      }
      await this.checkpoint();
      if (this.closed || !this.hasPending()) return;
    }
  }

  /** Writes the state of every policy that changed since its last checkpoint; resolves when written. */
  async checkpoint(): Promise<void> {
    const failures: unknown[] = [];
    const writes = this.tracked.filter((t) => t.since > 0).map((t) => this.write(t).catch((error: unknown) => failures.push(error)));
    await Promise.all(writes);
    // A snapshot taken before this call may still be on its way.
    await this.writes;
    if (failures.length > 0) throw failures[0];
  }

  /**
   * Stops the background work and writes a final checkpoint of what has run (call before closing
   * the store). Updates still queued are not run: their transitions are lost with the process (the
   * events stay in the log); call idle() first to run them.
   */
  async close(): Promise<void> {
    this.closed = true;
    this.sliceTimer?.();
    if (this.checkpointTimer !== undefined) clearTimeout(this.checkpointTimer);
    this.sliceTimer = undefined;
    this.checkpointTimer = undefined;
    this.release();
    await this.checkpoint();
  }

  private hasPending(): boolean {
    return this.tracked.some((t) => this.due(t));
  }

  private due(t: Tracked): boolean {
    return !t.failed && t.background.stats().pending > 0;
  }

  private slice(): void {
    this.sliceTimer = undefined;
    if (this.closed) return;
    const n = this.tracked.length;
    for (let k = 0; k < n; k++) {
      const t = this.tracked[(this.turn + k) % n] as Tracked;
      if (!this.due(t)) continue;
      this.turn = (this.turn + k + 1) % n;
      const deadline = this.clock() + this.sliceMs;
      try {
        t.since += t.background.work(this.sliceSteps, () => this.clock() >= deadline);
      } catch (error) {
        // Serving goes on with the weights as they are; what ran before is still checkpointed.
        t.failed = true;
        this.onError(error, { policy: t.name, during: 'work' });
      }
      this.maybeCheckpoint(t);
      break;
    }
    if (this.hasPending()) {
      this.wake();
      return;
    }
    this.release();
    this.scheduleIntervalCheckpoint();
  }

  private maybeCheckpoint(t: Tracked): void {
    if (t.since === 0) return;
    if (t.since >= this.checkpointUpdates || this.now() - t.intervalStart >= this.checkpointMs) {
      // Failures are reported through onError and leave the policy due for the next one.
      this.write(t).catch(() => undefined);
    }
  }

  /** With nothing queued, changed state still reaches the store checkpointMs after the last checkpoint. */
  private scheduleIntervalCheckpoint(): void {
    if (this.closed || this.checkpointTimer !== undefined || !this.tracked.some((t) => t.since > 0)) return;
    const due = Math.min(...this.tracked.filter((t) => t.since > 0).map((t) => t.intervalStart + this.checkpointMs));
    const timer = setTimeout(() => {
      this.checkpointTimer = undefined;
      for (const t of this.tracked) this.maybeCheckpoint(t);
      this.scheduleIntervalCheckpoint();
    }, Math.max(0, due - this.now()));
    // Node: a pending checkpoint alone must not keep the process alive (close() writes it anyway).
    (timer as { unref?: () => void }).unref?.();
    this.checkpointTimer = timer;
  }

  /** Snapshots the policy's state now and writes it after any earlier checkpoint, in a write of its own. */
  private write(t: Tracked): Promise<void> {
    const entries = t.policy.exportState();
    const since = t.since;
    t.since = 0;
    t.intervalStart = this.now();
    const run = this.writes.then(async () => {
      const at = this.now();
      try {
        await this.put(t.name, entries, at);
        t.checkpoints++;
        t.lastCheckpointAt = at;
      } catch (error) {
        // Still changed since the last checkpoint that made it.
        t.since += since;
        this.onError(error, { policy: t.name, during: 'checkpoint' });
        throw error;
      }
    });
    this.writes = run.catch(() => undefined);
    return run;
  }

  private put(name: string, entries: Map<string, PolicyStateEntry>, at: number): Promise<void> {
    const store = this.store;
    if (store.writeBatch === undefined) return store.putPolicyState(name, entries, at);
    // Its own transaction, queued behind any events batch in progress.
    return store.writeBatch(() => store.putPolicyState(name, entries, at));
  }

  private release(): void {
    const waiting = this.drained;
    this.drained = [];
    for (const resolve of waiting) resolve();
  }
}

/** Runs fn on a later turn of the event loop, after pending I/O callbacks; returns a cancel function. */
function afterIo(fn: () => void): () => void {
  const g = globalThis as { setImmediate?: (f: () => void) => unknown; clearImmediate?: (handle: unknown) => void };
  if (typeof g.setImmediate === 'function' && typeof g.clearImmediate === 'function') {
    const handle = g.setImmediate(fn);
    return () => g.clearImmediate?.(handle);
  }
  const timer = setTimeout(fn, 0);
  return () => clearTimeout(timer);
}

function positive(name: string, value: number): number {
  if (typeof value !== 'number' || !Number.isFinite(value) || value <= 0) {
    throw new TastemakerError('INVALID_CONFIG', `Invalid background.${name}: ${JSON.stringify(value)}. Valid values: a number > 0.`, { option: `background.${name}`, got: value });
  }
  return value;
}
