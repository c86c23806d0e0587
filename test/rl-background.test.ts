/**
 * A served DRR policy learns off the request path: POST /v1/events stores and attributes the
 * events and queues their DDPG updates; the updates run in background slices between requests and
 * the weights reach the store as checkpoints (not with every events request), `learning.idle()`
 * waits for them, close() writes the latest weights, and the queue holds its cap.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createNodeApp, silentLogger, type NodeApp, type NodeAppOptions } from '../packages/server/src/node.js';
import { syntheticDataset } from '../packages/trainer/src/synthetic/index.js';
import { runCli } from './run-cli.js';

let dir: string;
let bundle: string;
const ds = syntheticDataset({ seed: 5, users: 60, items: 40, perUser: 20 });
const userId = ds.users.ids[3]!;
const headers = { authorization: 'Bearer pk', 'content-type': 'application/json' };

beforeAll(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'tastemaker-rl-background-'));
  const csv = path.join(dir, 'ratings.csv');
  const lines = ['user,item,rating,ts'];
  for (let j = 0; j < ds.interactions.user.length; j++) {
    lines.push(`${ds.users.ids[ds.interactions.user[j]!]},${ds.items.ids[ds.interactions.item[j]!]},${ds.interactions.value[j]},${ds.interactions.timestamp![j]}`);
  }
  await writeFile(csv, `${lines.join('\n')}\n`);
  bundle = path.join(dir, 'drr-ave');
  const trained = await runCli([
    'train', '--data', csv, '--format', 'csv', '--user-col', 'user', '--item-col', 'item', '--value-col', 'rating', '--time-col', 'ts',
    '--model', 'drr-ave', '--out', bundle, '--epochs', '30', '--dim', '6', '--quiet',
    '--set', 'stateSize=4', '--set', 'embeddingEpochs=5', '--set', 'envs=4', '--set', 'batchSize=8', '--set', 'actorHidden=8', '--set', 'criticHidden=8',
  ]);
  expect(trained.code).toBe(0);
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

function open(db: string, extra: Partial<NodeAppOptions> & { learner?: Record<string, number>; learn?: boolean } = {}): Promise<NodeApp> {
  const { learner, learn, ...rest } = extra;
  return createNodeApp({
    bundle,
    db: path.join(dir, db),
    keys: { secret: 'sk', publishable: 'pk' },
    device: 'cpu',
    index: 'exact',
    logger: silentLogger,
    processMetrics: false,
    candidateCache: false,
    policies: { drr: { kind: 'drr', epsilon: learn === false ? 0 : 0.3, learn: learn ?? true, learner: { batchSize: 4, ...learner } } },
    ...rest,
  });
}

let serial = 0;
/** One recommendation of 4 items, answered with clicks on two and skips on the others. */
async function round(node: NodeApp): Promise<void> {
  const res = await node.app.request('/v1/recommend', { method: 'POST', headers, body: JSON.stringify({ userId, k: 4, policy: 'drr' }) });
  expect(res.status).toBe(200);
  const body = (await res.json()) as { recommId: string; items: { itemId: string }[] };
  const events = body.items.map((item, j) => ({ eventId: `e${serial++}`, type: j % 2 === 0 ? 'click' : 'skip', userId, itemId: item.itemId, recommId: body.recommId }));
  const sent = await node.app.request('/v1/events', { method: 'POST', headers, body: JSON.stringify({ events }) });
  expect(sent.status).toBe(200);
  expect(((await sent.json()) as { accepted: number }).accepted).toBe(4);
}

async function greedySlate(node: NodeApp): Promise<string[]> {
  const res = await node.app.request('/v1/recommend', { method: 'POST', headers, body: JSON.stringify({ userId, history: [], k: 40, policy: 'drr' }) });
  return ((await res.json()) as { items: { itemId: string }[] }).items.map((i) => i.itemId);
}

const stats = (node: NodeApp) => node.learning.stats().get('drr')!;
const stored = async (node: NodeApp) => (await node.store.getPolicyState('drr')).get('weights')?.json as { updates: number; droppedUpdates: number } | undefined;

describe('background learning of a served DRR policy', () => {
  it('acknowledges events before their updates run, lets requests in between, and checkpoints once idle', async () => {
    // one sample per slice: a queued update takes 8 turns of the event loop
    const node = await open('ack.db', { learning: { sliceSteps: 1, checkpointUpdates: 10_000, checkpointMs: 600_000 } });
    try {
      for (let r = 0; r < 6; r++) await round(node);
      // 24 transitions, a batch of 4: 21 updates owed, and the events are answered with them queued
      const queued = stats(node);
      expect(queued.pending + queued.updates).toBe(21);
      expect(queued.pending).toBeGreaterThan(0);
      // the weights are not rewritten with the events
      expect(await stored(node)).toBeUndefined();
      // a recommendation is answered while updates are still queued: it does not wait for them
      const before = queued.pending;
      await greedySlate(node);
      expect(stats(node).pending).toBeGreaterThan(0);
      expect(stats(node).pending).toBeLessThanOrEqual(before);

      await node.learning.idle();
      expect(stats(node)).toMatchObject({ pending: 0, updates: 21, dropped: 0, checkpoints: 1 });
      expect(await stored(node)).toMatchObject({ updates: 21, droppedUpdates: 0 });
      const metrics = await (await node.app.request('/metrics', { headers: { authorization: 'Bearer sk' } })).text();
      expect(metrics).toContain('tastemaker_policy_updates_total{policy="drr"} 21');
      expect(metrics).toContain('tastemaker_policy_pending_updates{policy="drr"} 0');
    } finally {
      await node.close();
    }
  }, 60_000);

  it('close() writes the latest weights, and a restart restores them', async () => {
    const live = await open('restart.db', { learning: { sliceSteps: 1, checkpointUpdates: 10_000, checkpointMs: 600_000 } });
    let atClose: number;
    try {
      for (let r = 0; r < 3; r++) await round(live);
      await live.learning.idle();
      const checkpointed = stats(live).updates;
      expect(checkpointed).toBe(9);
      for (let r = 0; r < 6; r++) await round(live);
      // let some of the new updates run, not all
      while (stats(live).updates === checkpointed) await new Promise((resolve) => setTimeout(resolve, 1));
      expect(stats(live).pending).toBeGreaterThan(0);
      // only the checkpoint of idle() is stored so far: the events did not write the weights
      expect((await stored(live))?.updates).toBe(checkpointed);
      atClose = stats(live).updates;
    } finally {
      await live.close();
    }
    const restored = await open('restart.db', { learn: false });
    const cold = await open('cold.db', { learn: false });
    try {
      expect((await stored(restored))?.updates).toBe(atClose);
      const learned = await greedySlate(restored);
      const initial = await greedySlate(cold);
      expect(new Set(learned)).toEqual(new Set(initial));
      expect(learned).not.toEqual(initial);
    } finally {
      await restored.close();
      await cold.close();
    }
    // a learning policy restores the counts too, and goes on from them
    const again = await open('restart.db');
    try {
      expect(stats(again)).toMatchObject({ pending: 0, updates: atClose });
    } finally {
      await again.close();
    }
  }, 60_000);

  it('holds the cap on queued updates, counting what it drops', async () => {
    const node = await open('cap.db', { learner: { maxPendingUpdates: 3 }, learning: { sliceSteps: 1 } });
    try {
      for (let r = 0; r < 6; r++) {
        await round(node);
        expect(stats(node).pending).toBeLessThanOrEqual(3);
      }
      const s = stats(node);
      expect(s.pending + s.updates + s.dropped).toBe(21);
      expect(s.dropped).toBeGreaterThan(0);
      await node.learning.idle();
      expect(stats(node).pending).toBe(0);
      expect(await stored(node)).toMatchObject({ updates: 21 - s.dropped, droppedUpdates: s.dropped });
      const metrics = await (await node.app.request('/metrics', { headers: { authorization: 'Bearer sk' } })).text();
      expect(metrics).toContain(`tastemaker_policy_dropped_updates_total{policy="drr"} ${s.dropped}`);
    } finally {
      await node.close();
    }
  }, 60_000);
});
