import { describe, expect, it } from 'vitest';
import { Rng } from '../../engine/rng.js';
import { ArrayAdam } from '../../models/kgcn/array-adam.js';
import { positivesTrainSet } from '../../models/train-set.js';
import { syntheticDataset } from '../../synthetic/index.js';
import { STATE_PADDING } from '../env.js';
import { rollout } from '../rollout.js';
import { DQN_DEFAULTS, dqnEnvironment, dqnModel, DqnModel, dqnParams, RIDGE_LAMBDAS } from './index.js';
import { MfEnv } from '../mf-env.js';
import { Gru, GruTape } from './gru.js';
import { QNetwork } from './q-network.js';
import { coldUserRows, RidgeBelief } from './belief.js';
import { PMF_DEFAULTS } from '../pmf.js';
import type { PmfFactors } from '../pmf.js';
import { dqnUpdate, trainDqn } from './trainer.js';

function randomArray(rng: Rng, n: number, scale = 1): Float32Array {
  return Float32Array.from({ length: n }, () => (2 * rng.next() - 1) * scale);
}

describe('Gru', () => {
  it('back-propagates through time like finite differences', () => {
    const rng = new Rng(1);
    const gru = new Gru(3, 4);
    gru.init(rng);
    gru.B.set(randomArray(rng, gru.B.length, 0.3));
    const x = randomArray(rng, 5 * 3);
    const c = randomArray(rng, 4);
    const loss = () => {
      const h = gru.forward(x, 5);
      return h.reduce((s, v, j) => s + v * c[j]!, 0);
    };
    const tape = new GruTape();
    gru.forward(x, 5, tape);
    const W = gru.W;
    const flat = new Float32Array(Gru.size(3, 4));
    gru.backward(x, tape, c, flat);
    // the parameters are views into one buffer in W, R, B order
    const params = new Float32Array(W.buffer, W.byteOffset, flat.length);
    for (const k of [0, 7, 20, 36, 40, 60, 70, 80, 90, flat.length - 1]) {
      const old = params[k]!;
      params[k] = old + 1e-3;
      const up = loss();
      params[k] = old - 1e-3;
      const down = loss();
      params[k] = old;
      expect(flat[k]!).toBeCloseTo((up - down) / 2e-3, 3);
    }
  });

  it('reads a sequence of length 0 as the zero state', () => {
    const gru = new Gru(2, 3);
    gru.init(new Rng(2));
    expect(Array.from(gru.forward(new Float32Array(0), 0))).toEqual([0, 0, 0]);
  });
});

function tinyNetwork(seed: number, priorInput = false): QNetwork {
  const rng = new Rng(seed);
  const items = randomArray(rng, 12 * 5, 0.5);
  return new QNetwork({ seqLen: 3, embDim: 5, hidden: 4, mlpHidden: 6, smallOutput: false, priorInput }, items, rng);
}

describe('QNetwork', () => {
  it.each([false, true])('has gradients that match finite differences for both GRUs and the MLP (prior as MLP input: %s)', (priorInput) => {
    const net = tinyNetwork(3, priorInput);
    const states = Int32Array.from([STATE_PADDING, 1, 4, STATE_PADDING, STATE_PADDING, 7]);
    const prior = randomArray(new Rng(30), net.outDim, 0.5);
    const phi = new Float32Array(net.outDim);
    const q = () => {
      net.phi(states, 0, phi, 0, undefined, prior);
      return net.q(phi, 0, 9);
    };
    const tape = net.newTape();
    net.phi(states, 0, phi, 0, tape, prior);
    const grad = new Float32Array(net.params.length);
    net.backward(tape, 9, 1, grad);
    const g = Gru.size(5, 4);
    for (const k of [0, 30, g + 3, g + 50, 2 * g + 5, 2 * g + 9, 2 * g + 12, 2 * g + 47, 2 * g + 50, net.params.length - 1]) {
      const old = net.params[k]!;
      net.params[k] = old + 1e-3;
      const up = q();
      net.params[k] = old - 1e-3;
      const down = q();
      net.params[k] = old;
      expect(grad[k]!).toBeCloseTo((up - down) / 2e-3, 3);
    }
  });

  it('soft-updates the target by τ and copies it with τ = 1', () => {
    const online = tinyNetwork(4);
    const target = tinyNetwork(5);
    const before = target.params.slice();
    target.softUpdateFrom(online, 0.1);
    for (const k of [0, 10, 100]) expect(target.params[k]!).toBeCloseTo(before[k]! + 0.1 * (online.params[k]! - before[k]!), 6);
    target.softUpdateFrom(online, 1);
    expect(Array.from(target.params)).toEqual(Array.from(online.params));
  });

  it('regresses Q(s, a) on the target: repeated updates on one batch shrink the TD error and leave the target network alone', () => {
    const online = tinyNetwork(6);
    const target = online.clone();
    const frozen = target.params.slice();
    const adam = new ArrayAdam(online.params, 1e-2);
    const batch = {
      users: Int32Array.from([0, 1]),
      states: Int32Array.from([0, 1, 2, STATE_PADDING, STATE_PADDING, 3, 4, 5, 6, 7, STATE_PADDING, STATE_PADDING]),
      actions: Float32Array.from([8, 9]),
      rewards: Float32Array.from([1, -1]),
      nextStates: Int32Array.from([1, 2, 8, STATE_PADDING, STATE_PADDING, 3, 5, 6, 7, STATE_PADDING, STATE_PADDING, 9]),
      dones: Float32Array.from([0, 1]),
      weights: Float32Array.from([1, 1]),
    };
    const td = new Float32Array(2);
    dqnUpdate(online, target, adam, batch, 0.5, td);
    const first = Math.abs(td[0]!) + Math.abs(td[1]!);
    for (let k = 0; k < 150; k++) dqnUpdate(online, target, adam, batch, 0.5, td);
    expect(Math.abs(td[0]!) + Math.abs(td[1]!)).toBeLessThan(first * 0.2);
    expect(Array.from(target.params)).toEqual(Array.from(frozen));
  });
});

describe('trainDqn checkpoints', () => {
  it('restores the parameters of the best validation and syncs the target to them', async () => {
    const online = tinyNetwork(11);
    const target = online.clone();
    const env = new MfEnv(
      { dim: 4, nUsers: 3, nItems: 12, globalMean: 3.5, userBias: new Float32Array(3), itemBias: randomArray(new Rng(2), 12, 0.5), userFactors: randomArray(new Rng(3), 12, 1), itemFactors: randomArray(new Rng(4), 48, 1), rmse: [] },
      new Map([0, 1, 2].map((u) => [u, Int32Array.from([u, u + 3, u + 6])] as const)),
      { stateSize: 3, maxSteps: 4 },
    );
    // the network's embeddings are width 5 = PMF dim 4 + bias, as fit builds them
    const scripted = [0.2, 0.1, 0.9, 0.3, 0.5, 0.4];
    const snapshots: Float32Array[] = [];
    const log = await trainDqn(online, target, env, { ...DQN_DEFAULTS, envs: 4, steps: 25, batchSize: 8, warmup: 8, lr: 1e-2 }, 7, {
      validate: async () => {
        snapshots.push(online.params.slice());
        return scripted[snapshots.length - 1]!;
      },
      validateEvery: 5,
    });
    expect(log.validation.map(([s]) => s)).toEqual([0, 5, 10, 15, 20, 25]);
    expect(log.keptStep).toBe(10);
    expect(snapshots[2]).not.toEqual(snapshots[5]);
    expect(Array.from(online.params)).toEqual(Array.from(snapshots[2]!));
    expect(Array.from(target.params)).toEqual(Array.from(online.params));
    // keepBest: false (the ablation) validates the same way but leaves the last parameters
    const last = tinyNetwork(11);
    snapshots.length = 0;
    const ablation = await trainDqn(last, last.clone(), env, { ...DQN_DEFAULTS, envs: 4, steps: 25, batchSize: 8, warmup: 8, lr: 1e-2 }, 7, {
      validate: async () => {
        snapshots.push(last.params.slice());
        return scripted[snapshots.length - 1]!;
      },
      validateEvery: 5,
      keepBest: false,
    });
    expect(ablation.keptStep).toBe(25);
    expect(Array.from(last.params)).toEqual(Array.from(snapshots[5]!));
  });
});

describe('RidgeBelief', () => {
  const rng = new Rng(12);
  const dim = 3;
  const nItems = 30;
  const pmf: PmfFactors = {
    dim,
    nUsers: 2,
    nItems,
    globalMean: 3.5,
    userBias: Float32Array.from([0.2, -0.1]),
    itemBias: randomArray(rng, nItems, 0.3),
    userFactors: randomArray(rng, 2 * dim, 1),
    itemFactors: randomArray(rng, nItems * dim, 1),
    rmse: [],
  };
  const predicted = (u: number, i: number) => {
    let s = pmf.globalMean + pmf.userBias[u]! + pmf.itemBias[i]!;
    for (let d = 0; d < dim; d++) s += pmf.userFactors[u * dim + d]! * pmf.itemFactors[i * dim + d]!;
    return s;
  };
  const reward = (phi: Float32Array, i: number) => {
    let s = phi[dim + 1]! + phi[dim]! * pmf.itemBias[i]!;
    for (let d = 0; d < dim; d++) s += phi[d]! * pmf.itemFactors[i * dim + d]!;
    return s;
  };

  it('starts a known user at their rating model: φ₀·[q, b, 1] = (r̂ − 3)/2', () => {
    const belief = new RidgeBelief(pmf, 2, true);
    const phi = new Float32Array(dim + 2);
    belief.prior(new Int32Array(4).fill(STATE_PADDING), 0, 2, () => undefined, phi, 0, 1);
    for (const i of [0, 7, 29]) expect(reward(phi, i)).toBeCloseTo((predicted(1, i) - 3) / 2, 5);
  });

  it('refits cold user rows from the ratings up to the N-th liked item only', () => {
    const timelines = { items: [Int32Array.from([0, 1, 2, 3, 4]), Int32Array.from([5, 6])], ratings: [Float32Array.from([5, 2, 4, 1, 5]), Float32Array.from([4, 4])] };
    const params = { ...PMF_DEFAULTS, epochs: 10 };
    const a = coldUserRows(pmf, timelines, 2, 4, params, 3);
    // user 0's second liked item is at position 2: later ratings must not matter
    const changed = { items: timelines.items, ratings: [Float32Array.from([5, 2, 4, 5, 1]), timelines.ratings[1]!] };
    const b = coldUserRows(pmf, changed, 2, 4, params, 3);
    expect(Array.from(b.userFactors)).toEqual(Array.from(a.userFactors));
    const earlier = { items: timelines.items, ratings: [Float32Array.from([5, 5, 4, 1, 5]), timelines.ratings[1]!] };
    expect(Array.from(coldUserRows(pmf, earlier, 2, 4, params, 3).userFactors.subarray(0, dim))).not.toEqual(Array.from(a.userFactors.subarray(0, dim)));
    expect(a.itemFactors).toBe(pmf.itemFactors);
  });

  it('recovers a user from observed ratings of the state items (no user prior)', () => {
    const belief = new RidgeBelief(pmf, 1e-3, false);
    const items = Int32Array.from({ length: 12 }, (_, t) => t);
    const phi = new Float32Array(dim + 2);
    // user 0's exact (uncapped) ratings, as rewards, for 12 liked/skipped items
    belief.prior(items, 0, 6, (i) => (predicted(0, i) - 3) / 2, phi, 0);
    for (const i of [20, 25]) expect(reward(phi, i)).toBeCloseTo((predicted(0, i) - 3) / 2, 2);
  });
});

const train = positivesTrainSet(syntheticDataset({ seed: 7, users: 60, items: 40, perUser: 20 }));
const small = { stateSize: 4, steps: 60, envs: 8, batchSize: 16, warmup: 32, hidden: 8, mlpHidden: 16, embeddingDim: 6, embeddingEpochs: 15, maxEpisodeSteps: 10, epsDecay: 0.95 };

describe('dqn', () => {
  it('moves every part of the network, and is deterministic per seed', async () => {
    // without validation the last step is kept (with it, a tiny run may well keep the untrained network)
    const a = (await dqnModel.fit(train, { seed: 5, extra: { ...small, validation: 0 } })) as DqnModel;
    const b = (await dqnModel.fit(train, { seed: 5, extra: { ...small, validation: 0 } })) as DqnModel;
    const fresh = new QNetwork(a.network.shape, a.network.items, (() => {
      const r = new Rng(5);
      return r.fork();
    })());
    const moved = (x: Float32Array, y: Float32Array) => x.some((v, k) => Math.abs(v - y[k]!) > 1e-6);
    expect(moved(a.network.gruPos.W, fresh.gruPos.W)).toBe(true);
    expect(moved(a.network.gruNeg.R, fresh.gruNeg.R)).toBe(true);
    expect(moved(a.network.W1, fresh.W1)).toBe(true);
    expect(moved(a.network.W2, fresh.W2)).toBe(true);
    expect(a.log.updates).toBeGreaterThan(0);
    expect(a.log.episodes).toBeGreaterThan(0);
    const users = Int32Array.from([0, 3, -1]);
    const hist = [new Int32Array(0), new Int32Array(0), Int32Array.from([1, 2, 3])];
    expect(Array.from(await a.scoreBatch(users, hist))).toEqual(Array.from(await b.scoreBatch(users, hist)));
    const c = (await dqnModel.fit(train, { seed: 6, extra: { ...small, validation: 0 } })) as DqnModel;
    expect(Array.from(await c.scoreBatch(users, hist))).not.toEqual(Array.from(await a.scoreBatch(users, hist)));
  });

  it('validates on train users it never trains on, and keeps the best checkpoint (never worse than the untrained belief)', async () => {
    const extra = { ...small, validation: 0.3, validateEvery: 10 };
    const p = dqnParams({ seed: 5, extra });
    const setup = dqnEnvironment(train, p, 5);
    const val = setup.validation!;
    expect(val.users.length).toBeGreaterThan(0);
    const trainUsers = new Set(setup.env.users);
    for (const u of val.users) expect(trainUsers.has(u)).toBe(false);
    // a user whose train part ends at their N-th liked item has no future for the simulator to know
    for (const u of [...setup.env.users, ...val.users]) {
      const liked = setup.timelines.ratings[u]!.reduce((n, r) => n + (r >= p.positiveThreshold ? 1 : 0), 0);
      expect(liked).toBeGreaterThanOrEqual(p.stateSize);
    }
    const model = (await dqnModel.fit(train, { seed: 5, extra })) as DqnModel;
    const v = model.log.validation;
    expect(v[0]![0]).toBe(0);
    expect(v.length).toBe(1 + Math.ceil(small.steps / 10));
    const kept = v.find(([step]) => step === model.log.keptStep)![1];
    expect(kept).toBe(Math.max(...v.map(([, r]) => r)));
    expect(kept).toBeGreaterThanOrEqual(v[0]![1]);
    expect(RIDGE_LAMBDAS).toContain(model.info.params.ridgeLambda);
    expect(model.dqnBundleParts().side.lambda).toBe(model.info.params.ridgeLambda);
  });

  it('learns from scratch (no prior) to beat a random policy in its MF environment', async () => {
    const extra = { ...small, prior: 'none', steps: 150 };
    const model = (await dqnModel.fit(train, { seed: 8, extra })) as DqnModel;
    const { env } = dqnEnvironment(train, dqnParams({ seed: 8, extra }), 8);
    const greedy = await rollout(env, model, env.users);
    const rng = new Rng(1);
    const random = await rollout(env, { name: 'random', scoreStates: async (u) => Float32Array.from({ length: u.length * env.nItems }, () => rng.next()) }, env.users);
    expect(greedy.meanReturn).toBeGreaterThan(random.meanReturn + 0.5);
  });

  it('uses the skips it observes in a simulator episode', async () => {
    const model = (await dqnModel.fit(train, { seed: 5, extra: { ...small, steps: 5, prior: 'none' } })) as DqnModel;
    const users = Int32Array.from([2]);
    const state = Int32Array.from([STATE_PADDING, 1, 2, 3]);
    model.beginEpisodes(Int32Array.from([]));
    const before = await model.scoreStates(users, state);
    model.observe(users, Int32Array.from([7]), Float32Array.from([-1]), Uint8Array.from([0]));
    const after = await model.scoreStates(users, state);
    expect(Array.from(after)).not.toEqual(Array.from(before));
    model.beginEpisodes(Int32Array.from([]));
    expect(Array.from(await model.scoreStates(users, state))).toEqual(Array.from(before));
  });

  it('with episodeBelief=0 its belief ignores the ratings observed in an episode (untrained, it ranks as the rating model all episode)', async () => {
    // steps=0: the untrained network is its belief exactly, so Q moves only if the belief does
    const scoresAfterObserving = async (episodeBelief: number) => {
      const model = (await dqnModel.fit(train, { seed: 5, extra: { ...small, steps: 0, episodeBelief } })) as DqnModel;
      const users = Int32Array.from([2]);
      const state = Int32Array.from([STATE_PADDING, 1, 2, 3]);
      model.beginEpisodes(users);
      const before = await model.scoreStates(users, state);
      // item 2 of the state turns out disliked, item 9 (outside it) loved
      model.observe(users, Int32Array.from([2, 9]), Float32Array.from([-1, 1]), Uint8Array.from([0, 1]));
      return { before, after: await model.scoreStates(users, state) };
    };
    const frozen = await scoresAfterObserving(0);
    expect(Array.from(frozen.after)).toEqual(Array.from(frozen.before));
    const learning = await scoresAfterObserving(1);
    expect(Array.from(learning.after)).not.toEqual(Array.from(learning.before));
    expect(() => dqnParams({ seed: 1, extra: { episodeBelief: 2 } })).toThrow(/episodeBelief/);
  });

  it('rejects bad configuration with the valid values', () => {
    expect(() => dqnParams({ seed: 1, extra: { env: 'real' } })).toThrow(/Valid: mf, rating/);
    expect(() => dqnParams({ seed: 1, extra: { prior: 'x' } })).toThrow(/Valid: ridge, none/);
    expect(() => dqnParams({ seed: 1, extra: { userPrior: 2 } })).toThrow(/userPrior/);
    expect(() => dqnParams({ seed: 1, extra: { coldUsers: 3 } })).toThrow(/coldUsers/);
    expect(() => dqnParams({ seed: 1, extra: { gamma: 1 } })).toThrow(/gamma/);
    expect(() => dqnParams({ seed: 1, extra: { epsMin: 0.5, epsStart: 0.1 } })).toThrow(/exploration/);
  });

  it('trains in the rating environment too', async () => {
    const model = (await dqnModel.fit(train, { seed: 5, extra: { ...small, env: 'rating', steps: 40 } })) as DqnModel;
    expect(model.log.updates).toBeGreaterThan(0);
    expect(model.learningCurve().points.length).toBeGreaterThan(0);
  });
});

describe('dqn ONNX export', () => {
  it.each([false, true])('gives the same Q-values in onnxruntime-node as the trainer (prior as MLP input: %s)', async (priorInput) => {
    const { runModel } = await import('../../onnx/ort-runners.js');
    const { qNetworkGraph } = await import('./onnx.js');
    const net = tinyNetwork(9, priorInput);
    // non-zero biases so both bias halves (Wb, Rb) are exercised
    const rng = new Rng(10);
    net.gruPos.B.set(randomArray(rng, net.gruPos.B.length, 0.3));
    net.gruNeg.B.set(randomArray(rng, net.gruNeg.B.length, 0.3));
    net.W2.set(randomArray(rng, net.W2.length, 0.5));
    // trainer states: left padding; the graph's: right padding + lengths
    const states = Int32Array.from([STATE_PADDING, 1, 4, STATE_PADDING, STATE_PADDING, 7, 2, 3, 5, STATE_PADDING, STATE_PADDING, STATE_PADDING]);
    const prior = randomArray(rng, 2 * net.outDim, 0.2);
    const want = net.qAll(net.phiBatch(states, prior), 2);
    const candidates = [0, 3, 9, 11];
    const rows = (lists: number[][]) => BigInt64Array.from(lists.flatMap((l) => [...l, ...Array(3 - l.length).fill(0)]), BigInt);
    const out = await runModel(
      'node',
      qNetworkGraph(net),
      {
        liked: { data: rows([[1, 4], [2, 3, 5]]), dims: [2, 3] },
        liked_len: { data: BigInt64Array.from([2n, 3n]), dims: [2] },
        skipped: { data: rows([[7], []]), dims: [2, 3] },
        skipped_len: { data: BigInt64Array.from([1n, 0n]), dims: [2] },
        candidates: { data: BigInt64Array.from(candidates, BigInt), dims: [4] },
        prior: { data: prior, dims: [2, net.outDim] },
      },
      ['q'],
    );
    expect(out.q!.dims).toEqual([2, 4]);
    for (let b = 0; b < 2; b++) candidates.forEach((c, k) => expect(out.q!.data[b * 4 + k]!).toBeCloseTo(want[b * net.nItems + c]!, 4));
  });
});
