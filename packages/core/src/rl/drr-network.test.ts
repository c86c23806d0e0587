import { describe, expect, it } from 'vitest';
import { createRng } from '../policies/rng.js';
import { DRR_LEARNER_DEFAULTS, DrrLearner, type DrrTables } from './drr-learner.js';
import { DRR_STATE_MODULES, DrrNetwork, drrLayout, type DrrShape } from './drr-network.js';
import { decodeDrrWeights, encodeDrrWeights } from './drr-weights.js';

function randomArray(n: number, seed: number, scale = 0.5): Float32Array {
  const rng = createRng(seed);
  return Float32Array.from({ length: n }, () => (rng.next() * 2 - 1) * scale);
}

const shapeOf = (kind: DrrShape['kind'], skip = true): DrrShape => ({ kind, stateSize: 3, dim: 4, actorHidden: 5, criticHidden: 6, skip });

describe('DrrNetwork gradients match finite differences', () => {
  it.each(DRR_STATE_MODULES)('%s: critic + state module, and actor through the normalised skip action', (kind) => {
    const shape = shapeOf(kind);
    const net = new DrrNetwork(shape, randomArray(drrLayout(shape).total, 11));
    const u = randomArray(4, 2, 1);
    const items = randomArray(12, 3, 1);
    const a = randomArray(4, 4, 1);
    const criticLoss = () => {
      const t = net.forward(u, items);
      return net.critic(t.s, a).q;
    };
    const grad = new Float32Array(net.size);
    const t = net.forward(u, items);
    const c = net.critic(t.s, a);
    const { ds } = net.criticBackward(c, a, 1, grad);
    net.stateBackward(t, ds, grad);

    const prior = 0.7;
    const actorLoss = () => {
      const tr = net.forward(u, items);
      let pen = 0;
      for (const r of tr.raw) pen += r * r;
      return net.critic(tr.s, tr.a).q + prior * pen;
    };
    const agrad = new Float32Array(net.size);
    const ta = net.forward(u, items);
    const ca = net.critic(ta.s, ta.a);
    const { da } = net.criticBackward(ca, ta.a, 1, undefined);
    net.actorBackward(ta, da, ta.raw.map((r) => 2 * prior * r), agrad);

    const { offsets, sizes } = drrLayout(shape);
    const check = (names: (keyof typeof offsets)[], g: Float32Array, loss: () => number) => {
      for (const name of names) {
        for (let j = 0; j < Math.min(sizes[name], 6); j++) {
          const i = offsets[name] + j;
          const old = net.params[i] as number;
          // small step: a ReLU unit near its kink (the critic has one at 3e-4 for drr-p) would otherwise be crossed
          const h = 1e-4;
          net.params[i] = old + h;
          const up = loss();
          net.params[i] = old - h;
          const down = loss();
          net.params[i] = old;
          const fd = (up - down) / (2 * h);
          expect(Math.abs(fd - (g[i] as number)), `${name}[${j}] fd ${fd} grad ${g[i]}`).toBeLessThan(2e-3 * Math.max(1, Math.abs(fd)));
        }
      }
    };
    check(['sm.weights', 'interaction.weight', 'interaction.bias', 'critic.0.weight', 'critic.0.bias', 'critic.1.weight', 'critic.1.bias'], grad, criticLoss);
    check(['actor.0.weight', 'actor.0.bias', 'actor.1.weight', 'actor.1.bias'], agrad, actorLoss);
  });
});

describe('DrrLearner', () => {
  it('fits a reward that depends on the item direction: Q of rewarded directions rises above the others', () => {
    const shape = shapeOf('drr-ave');
    const total = drrLayout(shape).total;
    const params = randomArray(total, 5, 0.2);
    const nItems = 8;
    const items = randomArray(nItems * 4, 6, 1);
    const tables: DrrTables = { dim: 4, items, nItems, users: randomArray(2 * 4, 7, 1), nUsers: 2 };
    const learner = new DrrLearner(shape, params, params.slice(), tables, { gamma: 0, tau: 0.05, actorLr: 1e-3, criticLr: 1e-2, batchSize: 8, replayCapacity: 100, actorDelay: 0, priorWeight: 0, updatesPerTransition: 1, maxPendingUpdates: 10 }, createRng(1));
    const dir = (i: number) => {
      const v = items.slice(i * 4, i * 4 + 4);
      const n = Math.hypot(...v);
      return v.map((x) => x / n);
    };
    const state = Int32Array.of(0, 1, 2);
    // items 0–3 pay, 4–7 do not
    for (let step = 0; step < 400; step++) {
      const i = step % nItems;
      learner.add({ user: 0, state, action: dir(i), reward: i < 4 ? 1 : 0, nextState: state });
      learner.drain();
    }
    expect(learner.updates).toBe(400 - 7);
    const t = learner.online.forward(tables.users!.subarray(0, 4), new Float32Array(12).map((_, k) => items[k]!));
    const q = (i: number) => learner.online.critic(t.s, dir(i)).q;
    const paid = [0, 1, 2, 3].map(q);
    const unpaid = [4, 5, 6, 7].map(q);
    expect(paid.reduce((s, x) => s + x, 0) / 4 - unpaid.reduce((s, x) => s + x, 0) / 4).toBeGreaterThan(0.5);
  });

  it('runs queued updates a few samples at a time exactly as whole, and drops updates beyond its queue cap', () => {
    const shape = shapeOf('drr-ave');
    const params = randomArray(drrLayout(shape).total, 5, 0.2);
    const tables: DrrTables = { dim: 4, items: randomArray(8 * 4, 6, 1), nItems: 8, users: randomArray(2 * 4, 7, 1), nUsers: 2 };
    const options = { ...DRR_LEARNER_DEFAULTS, batchSize: 4, maxPendingUpdates: 100 };
    const make = (o = options) => new DrrLearner(shape, params.slice(), params.slice(), tables, o, createRng(3));
    const feed = (l: DrrLearner) => {
      for (let i = 0; i < 20; i++) l.add({ user: i % 2, state: Int32Array.of(i % 8, (i + 1) % 8, -1), action: Float32Array.of(0.5, 0.5, 0.5, 0.5), reward: i % 3 === 0 ? 1 : 0, nextState: Int32Array.of((i + 1) % 8, -1, i % 8) });
    };
    const whole = make();
    feed(whole);
    expect(whole.pending).toBe(17);
    expect(whole.drain()).toBe(17);
    const sliced = make();
    feed(sliced);
    // one sample of the critic pass: accumulates gradient, changes no weight yet
    expect(sliced.work(1)).toBe(0);
    expect(Array.from(sliced.online.params)).toEqual(Array.from(params));
    let calls = 1;
    while (sliced.pending > 0) (sliced.work(3), calls++);
    expect(calls).toBeGreaterThan(17 * 2);
    expect(sliced.updates).toBe(17);
    expect(Array.from(sliced.online.params)).toEqual(Array.from(whole.online.params));
    expect(Array.from(sliced.target.params)).toEqual(Array.from(whole.target.params));
    // a stop() that says stop at once still runs one sample per call
    const stopped = make();
    feed(stopped);
    stopped.work(100, () => true);
    expect(stopped.pending).toBe(17);

    const capped = make({ ...options, maxPendingUpdates: 5 });
    feed(capped);
    expect(capped.pending).toBe(5);
    expect(capped.dropped).toBe(12);
    expect(capped.replaySize).toBe(20);
    expect(capped.drain()).toBe(5);
  });

  it('weights survive an encode/decode round trip exactly', () => {
    const shape = shapeOf('drr-p', false);
    const total = drrLayout(shape).total;
    const w = { shape, params: randomArray(total, 1), target: randomArray(total, 2), users: { rows: 3, values: randomArray(12, 3) } };
    const back = decodeDrrWeights(encodeDrrWeights(w));
    expect(back.shape).toEqual(shape);
    expect(Array.from(back.params)).toEqual(Array.from(w.params));
    expect(Array.from(back.target!)).toEqual(Array.from(w.target));
    expect(Array.from(back.users!.values)).toEqual(Array.from(w.users.values));
    expect(() => decodeDrrWeights(new Uint8Array(10))).toThrow(/bad magic/);
  });
});
