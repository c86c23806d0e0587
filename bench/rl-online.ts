/**
 * Online learning of a served DRR policy, end to end through the HTTP API:
 *
 *   1. DRR trains on the drr-users train part and is written as a bundle (actor graph + rl section).
 *   2. A simulator stands in for the held-out users: a PMF fitted on every rating of every user,
 *      predicting a rating for any item (as `tastemaker simulate` does).
 *   3. "before": a greedy DRR policy with the bundle's weights recommends k items to each held-out
 *      user from their training state (POST /v1/recommend with an empty live history); the
 *      simulated reward is the share of items the simulator rates ≥ 4 (and the mean (r − 3) / 2).
 *   4. Live traffic: for `rounds` rounds every held-out user asks the served, exploring DRR policy
 *      for k items and answers through POST /v1/events: a click for each item the simulator rates
 *      ≥ 4, a skip otherwise. Core's DRR policy turns them into DDPG transitions; the updates run
 *      in the background between requests and the weights are checkpointed in the SQLite store;
 *      the phase ends once they caught up (`learning.idle()`). `latencyMs` times its requests.
 *   5. "after": a fresh server on the same database restores the learned weights into the same
 *      greedy policy, and step 3 is repeated on the same states.
 *
 *   node --import tsx bench/rl-online.ts --data /work/shared/data/ml-100k --format movielens-100k [--model drr-ave] [--rounds 10] [--seed 42] [--max-pending 1000]
 */
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { createRng, type DrrLearnerOptions } from '@tastemaker/core';
import { createNodeApp, silentLogger, type NodeAppOptions } from '../packages/server/src/node.js';
import type { Dataset } from '../packages/trainer/src/data/dataset.js';
import { readDataset } from '../packages/trainer/src/data/index.js';
import { drrUsersSplit } from '../packages/trainer/src/eval/drr-users.js';
import { writeModelBundle } from '../packages/trainer/src/export/write-model-bundle.js';
import { getModel } from '../packages/trainer/src/models/index.js';
import { PMF_DEFAULTS, pmfPredict, trainPmf } from '../packages/trainer/src/rl/pmf.js';

export interface OnlineExperimentOptions {
  dataset: Dataset;
  model: 'drr-n' | 'drr-p' | 'drr-u' | 'drr-ave';
  seed: number;
  /** `--set` values for the DRR fit */
  fit?: Record<string, string | number>;
  /** held-out users taking part (the first ones by id); default all */
  users?: number;
  rounds: number;
  /** items per recommendation */
  k: number;
  /** candidates retrieval hands the policy (the server's candidatePool) */
  candidatePool: number;
  /** exploration of the live policy */
  epsilon: number;
  learner?: Partial<DrrLearnerOptions>;
  /**
   * When the live phase waits for the background updates: at its 'end' (default, as a server runs
   * them: between requests, as time allows), or after 'each' events request, which makes the run
   * repeatable (the order of updates and requests no longer depends on timing) at the cost of
   * serialising them.
   */
  waitForUpdates?: 'end' | 'each';
  /** background slices and checkpoints of the live server (createNodeApp's learning) */
  learning?: NodeAppOptions['learning'];
  /** PMF epochs/dim of the simulator */
  simulator?: { dim?: number; epochs?: number };
  log?: (line: string) => void;
}

export interface SimulatedReward {
  /** share of recommended items the simulator rates ≥ 4 */
  clickRate: number;
  /** mean of (rating − 3) / 2 over recommended items */
  meanReward: number;
}

export interface OnlineExperimentResult {
  dataset: string;
  model: string;
  users: number;
  rounds: number;
  k: number;
  before: SimulatedReward;
  after: SimulatedReward;
  /** click rate of the live (exploring) policy per round */
  liveClickRate: number[];
  events: number;
  /** DDPG updates run on the live transitions */
  updates: number;
  /** updates dropped because the background queue was at its cap */
  droppedUpdates: number;
  trainSeconds: number;
  /** the live phase, from its first request to the background updates having caught up */
  onlineSeconds: number;
  /** of which: waiting for the background updates after the last request */
  drainSeconds: number;
  /** wall time of the live phase's requests, ms: POST /v1/events (k events each) and POST /v1/recommend */
  latencyMs: { events: LatencySummary; recommend: LatencySummary };
}

export interface LatencySummary {
  n: number;
  mean: number;
  p50: number;
  p99: number;
  max: number;
}

function summarise(ms: number[]): LatencySummary {
  const s = [...ms].sort((a, b) => a - b);
  const at = (q: number) => s[Math.min(s.length - 1, Math.floor(q * s.length))] ?? 0;
  const round = (x: number) => Math.round(x * 100) / 100;
  return { n: s.length, mean: round(s.reduce((a, b) => a + b, 0) / Math.max(1, s.length)), p50: round(at(0.5)), p99: round(at(0.99)), max: round(s[s.length - 1] ?? 0) };
}

interface RecommendBody {
  recommId: string;
  items: { itemId: string }[];
}

export async function runOnlineExperiment(o: OnlineExperimentOptions): Promise<OnlineExperimentResult> {
  const log = o.log ?? (() => undefined);
  const dir = await mkdtemp(path.join(os.tmpdir(), 'tastemaker-rl-online-'));
  try {
    const split = drrUsersSplit(o.dataset, { stateSize: Number(o.fit?.stateSize ?? 10) });
    if (split.test.kind !== 'ranking') throw new Error('drr-users gives a ranking test');
    const t0 = performance.now();
    const model = await getModel(o.model).fit(split.train, { seed: o.seed, extra: o.fit ?? {} });
    const bundle = path.join(dir, o.model);
    try {
      await writeModelBundle(bundle, model, split.train, { kg: false });
    } finally {
      model.dispose();
    }
    const trainSeconds = (performance.now() - t0) / 1000;
    log(`${o.model} trained and written in ${trainSeconds.toFixed(1)} s`);

    const ds = o.dataset;
    const pmf = trainPmf(ds.interactions, ds.users.size, ds.items.size, { ...PMF_DEFAULTS, dim: o.simulator?.dim ?? PMF_DEFAULTS.dim, epochs: o.simulator?.epochs ?? PMF_DEFAULTS.epochs }, o.seed);
    const rating = (userId: string, itemId: string) => Math.min(5, Math.max(1, pmfPredict(pmf, ds.users.get(userId)!, ds.items.get(itemId)!)));
    const live = Array.from(split.test.users.subarray(0, o.users ?? split.test.users.length), (u) => ds.users.ids[u]!);

    const keys = { secret: 'sk', publishable: 'pk' };
    const headers = { authorization: 'Bearer pk', 'content-type': 'application/json' };
    const open = (db: string, policy: Record<string, unknown>) =>
      createNodeApp({
        bundle,
        db: path.join(dir, db),
        keys,
        device: 'cpu',
        index: 'exact',
        logger: silentLogger,
        processMetrics: false,
        candidateCache: false,
        candidatePool: o.candidatePool,
        policies: { drr: { kind: 'drr', ...policy } },
        ...(o.learning !== undefined ? { learning: o.learning } : {}),
      });
    const recommend = async (app: Awaited<ReturnType<typeof open>>['app'], body: Record<string, unknown>): Promise<RecommendBody> => {
      const res = await app.request('/v1/recommend', { method: 'POST', headers, body: JSON.stringify({ policy: 'drr', ...body }) });
      if (res.status !== 200) throw new Error(`recommend: ${res.status} ${await res.text()}`);
      return (await res.json()) as RecommendBody;
    };
    // The greedy policy on each user's training state (empty live history), scored by the simulator.
    const evaluate = async (db: string): Promise<SimulatedReward> => {
      const node = await open(db, { epsilon: 0, learn: false });
      try {
        let clicks = 0;
        let reward = 0;
        let n = 0;
        for (const userId of live) {
          const body = await recommend(node.app, { userId, history: [], k: o.k });
          for (const { itemId } of body.items) {
            const r = rating(userId, itemId);
            clicks += r >= 4 ? 1 : 0;
            reward += (r - 3) / 2;
            n++;
          }
        }
        return { clickRate: clicks / n, meanReward: reward / n };
      } finally {
        await node.close();
      }
    };

    const before = await evaluate('before.db');
    log(`before: ${JSON.stringify(before)}`);
    const t1 = performance.now();
    const node = await open('live.db', { epsilon: o.epsilon, rng: createRng(o.seed), learner: o.learner ?? {} });
    const liveClickRate: number[] = [];
    const eventsMs: number[] = [];
    const recommendMs: number[] = [];
    let events = 0;
    let updates = 0;
    let droppedUpdates = 0;
    let drainSeconds = 0;
    try {
      let serial = 0;
      for (let round = 0; round < o.rounds; round++) {
        let clicks = 0;
        let shown = 0;
        for (const userId of live) {
          const r0 = performance.now();
          const body = await recommend(node.app, { userId, k: o.k });
          recommendMs.push(performance.now() - r0);
          const batch = body.items.map(({ itemId }) => {
            const click = rating(userId, itemId) >= 4;
            clicks += click ? 1 : 0;
            shown++;
            return { eventId: `e${serial++}`, type: click ? 'click' : 'skip', userId, itemId, recommId: body.recommId };
          });
          const e0 = performance.now();
          const res = await node.app.request('/v1/events', { method: 'POST', headers, body: JSON.stringify({ events: batch }) });
          const answer = (await res.json()) as { accepted: number };
          eventsMs.push(performance.now() - e0);
          if (res.status !== 200 || answer.accepted !== batch.length) throw new Error(`events: ${res.status} ${JSON.stringify(answer)}`);
          if (o.waitForUpdates === 'each') await node.learning.idle();
          events += batch.length;
        }
        liveClickRate.push(clicks / shown);
        log(`round ${round + 1}: live click rate ${(clicks / shown).toFixed(3)}`);
      }
      // Updates run in the background between requests; "after" is measured once they caught up.
      const d0 = performance.now();
      await node.learning.idle();
      drainSeconds = (performance.now() - d0) / 1000;
      const stored = await node.store.getPolicyState('drr');
      const json = stored.get('weights')?.json as { updates?: number; droppedUpdates?: number } | undefined;
      updates = Number(json?.updates ?? 0);
      droppedUpdates = Number(json?.droppedUpdates ?? 0);
    } finally {
      await node.close();
    }
    const onlineSeconds = (performance.now() - t1) / 1000;
    const after = await evaluate('live.db');
    log(`after: ${JSON.stringify(after)}`);
    const latencyMs = { events: summarise(eventsMs), recommend: summarise(recommendMs) };
    return { dataset: ds.name, model: o.model, users: live.length, rounds: o.rounds, k: o.k, before, after, liveClickRate, events, updates, droppedUpdates, trainSeconds, onlineSeconds, drainSeconds, latencyMs };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      data: { type: 'string' },
      format: { type: 'string' },
      model: { type: 'string', default: 'drr-ave' },
      rounds: { type: 'string', default: '10' },
      k: { type: 'string', default: '10' },
      users: { type: 'string' },
      pool: { type: 'string', default: '200' },
      epsilon: { type: 'string', default: '0.1' },
      seed: { type: 'string', default: '42' },
      'actor-lr': { type: 'string' },
      'critic-lr': { type: 'string' },
      prior: { type: 'string' },
      'max-pending': { type: 'string' },
    },
  });
  if (values.data === undefined || values.format === undefined) throw new Error('give --data DIR --format FORMAT');
  const dataset = await readDataset(values.format as Parameters<typeof readDataset>[0], values.data);
  const learner: Partial<DrrLearnerOptions> = {};
  if (values['actor-lr'] !== undefined) learner.actorLr = Number(values['actor-lr']);
  if (values['critic-lr'] !== undefined) learner.criticLr = Number(values['critic-lr']);
  if (values.prior !== undefined) learner.priorWeight = Number(values.prior);
  if (values['max-pending'] !== undefined) learner.maxPendingUpdates = Number(values['max-pending']);
  const result = await runOnlineExperiment({
    dataset,
    model: values.model as OnlineExperimentOptions['model'],
    seed: Number(values.seed),
    rounds: Number(values.rounds),
    k: Number(values.k),
    candidatePool: Number(values.pool),
    epsilon: Number(values.epsilon),
    learner,
    ...(values.users !== undefined ? { users: Number(values.users) } : {}),
    log: (line) => process.stderr.write(`${line}\n`),
  });
  process.stdout.write(`${JSON.stringify(result)}\n`);
}

if (import.meta.url === `file://${process.argv[1]}`) await main();
