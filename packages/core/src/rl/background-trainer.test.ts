import { describe, expect, it } from 'vitest';
import { isTastemakerError } from '../errors/index.js';
import { GreedyPolicy } from '../policies/baseline-policies.js';
import type { BackgroundLearning, Policy } from '../policies/types.js';
import { MemoryStore } from '../store/memory-store.js';
import { BackgroundTrainer } from './background-trainer.js';

/** A policy whose queued updates each take `unitsPerUpdate` units of `unitMs` busy work. */
function slowPolicy(unitsPerUpdate: number, unitMs: number) {
  let queued = 0;
  let unitsDone = 0;
  let updates = 0;
  const calls: number[] = [];
  const background: BackgroundLearning = {
    work(steps, stop) {
      let done = 0;
      let used = 0;
      while (used < steps && (queued > 0 || unitsDone > 0)) {
        const until = performance.now() + unitMs;
        while (performance.now() < until);
        used++;
        if (++unitsDone === unitsPerUpdate) {
          unitsDone = 0;
          queued--;
          updates++;
          done++;
        }
        if (stop?.() === true) break;
      }
      calls.push(used);
      return done;
    },
    stats: () => ({ pending: queued, updates, dropped: 0 }),
  };
  const policy = Object.assign(new GreedyPolicy(), {
    background,
    exportState: () => new Map([['weights', { json: { updates } }]]),
  }) as Policy;
  return { policy, calls, queue: (n: number) => (queued += n) };
}

describe('BackgroundTrainer', () => {
  it('runs queued work in short slices that let other callbacks in, then checkpoints on idle()', async () => {
    const store = new MemoryStore();
    const slow = slowPolicy(4, 1);
    const trainer = new BackgroundTrainer({ store, policies: new Map([['drr', slow.policy], ['greedy', new GreedyPolicy()]]), sliceMs: 3, checkpointUpdates: 1000 });
    expect([...trainer.stats().keys()]).toEqual(['drr']);
    slow.queue(10);
    trainer.wake();
    let ticks = 0;
    const ticker = setInterval(() => ticks++, 0);
    try {
      await trainer.idle();
    } finally {
      clearInterval(ticker);
    }
    expect(trainer.stats().get('drr')).toMatchObject({ pending: 0, updates: 10, checkpoints: 1 });
    // 40 ms of work in slices of about 3 ms, with other timers firing between them
    expect(slow.calls.length).toBeGreaterThanOrEqual(10);
    expect(Math.max(...slow.calls)).toBeLessThanOrEqual(4);
    expect(ticks).toBeGreaterThan(3);
    expect((await store.getPolicyState('drr')).get('weights')?.json).toEqual({ updates: 10 });
    // nothing changed since: no new checkpoint
    await trainer.idle();
    expect(trainer.stats().get('drr')?.checkpoints).toBe(1);
  });

  it('checkpoints every checkpointUpdates updates without being asked, and stops at close()', async () => {
    const store = new MemoryStore();
    const slow = slowPolicy(1, 0.2);
    const trainer = new BackgroundTrainer({ store, policies: new Map([['drr', slow.policy]]), sliceSteps: 1, checkpointUpdates: 5 });
    slow.queue(100);
    trainer.wake();
    while ((trainer.stats().get('drr')?.checkpoints ?? 0) < 2) await new Promise((resolve) => setTimeout(resolve, 1));
    const written = (await store.getPolicyState('drr')).get('weights')?.json as { updates: number };
    expect(written.updates % 5).toBe(0);
    await trainer.close();
    const closedAt = trainer.stats().get('drr')!;
    expect(closedAt.pending).toBeGreaterThan(0);
    // close wrote the latest state, and no slice runs after it
    expect((await store.getPolicyState('drr')).get('weights')?.json).toEqual({ updates: closedAt.updates });
    trainer.wake();
    await new Promise((resolve) => setTimeout(resolve, 20));
    expect(trainer.stats().get('drr')?.updates).toBe(closedAt.updates);
  });

  it('reports a failed checkpoint, keeps the state due, and writes it on the next one', async () => {
    const store = new MemoryStore();
    const put = store.putPolicyState.bind(store);
    let fail = true;
    store.putPolicyState = async (...args) => {
      if (fail) throw new Error('disk full');
      return put(...args);
    };
    const errors: string[] = [];
    const slow = slowPolicy(1, 0);
    const trainer = new BackgroundTrainer({ store, policies: new Map([['drr', slow.policy]]), onError: (e, info) => errors.push(`${info.during}: ${(e as Error).message}`) });
    slow.queue(3);
    trainer.wake();
    await expect(trainer.idle()).rejects.toThrow(/disk full/);
    expect(errors).toEqual(['checkpoint: disk full']);
    fail = false;
    await trainer.idle();
    expect((await store.getPolicyState('drr')).get('weights')?.json).toEqual({ updates: 3 });
  });

  it('stops giving slices to a policy whose work throws, so idle() still settles', async () => {
    const store = new MemoryStore();
    const errors: string[] = [];
    const broken = Object.assign(new GreedyPolicy(), {
      background: {
        work: () => {
          throw new Error('NaN weights');
        },
        stats: () => ({ pending: 5, updates: 0, dropped: 0 }),
      },
    }) as Policy;
    const trainer = new BackgroundTrainer({ store, policies: new Map([['drr', broken]]), onError: (e, info) => errors.push(`${info.during}: ${(e as Error).message}`) });
    trainer.wake();
    await trainer.idle();
    expect(errors).toEqual(['work: NaN weights']);
  });

  it('refuses bad options with a typed error', () => {
    const make = (sliceMs: number) => new BackgroundTrainer({ store: new MemoryStore(), policies: new Map(), sliceMs });
    expect(() => make(0)).toThrow(/background.sliceMs.*> 0/);
    try {
      make(Number.NaN);
    } catch (e) {
      expect(isTastemakerError(e) && e.code).toBe('INVALID_CONFIG');
    }
  });
});
