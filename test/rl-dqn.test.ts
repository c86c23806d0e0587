/**
 * DQN bundles: `tastemaker train --model dqn` writes the Q-network graph and its side data as the rl
 * section (algorithm "dqn"); core's `dqn` policy serves the same Q-values as the trainer (state from
 * the training windows and live events, belief term folded in by core, one onnxruntime run), the
 * server exposes it as policy "dqn" and a skip event reaches the skipped-items GRU; broken bundles
 * are refused with a BundleError.
 */
import { cp, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BundleError, createDqnPolicy, createNodeBackend, directorySource, loadBundle, type DqnPolicy } from '../packages/core/src/node.js';
import { createNodeApp, silentLogger } from '../packages/server/src/node.js';
import { writeModelBundle } from '../packages/trainer/src/export/write-model-bundle.js';
import { positivesTrainSet } from '../packages/trainer/src/models/train-set.js';
import { dqnModel, type DqnModel } from '../packages/trainer/src/rl/dqn/index.js';
import { syntheticDataset } from '../packages/trainer/src/synthetic/index.js';
import { runCli } from './run-cli.js';

let dir: string;
const backend = createNodeBackend({ device: 'cpu', intraOpNumThreads: 1 });

beforeAll(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'tastemaker-rl-dqn-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

const ds = syntheticDataset({ seed: 7, users: 60, items: 40, perUser: 20 });
const train = positivesTrainSet(ds);
const small = { stateSize: 4, steps: 60, envs: 8, batchSize: 16, warmup: 32, hidden: 8, mlpHidden: 16, embeddingDim: 6, embeddingEpochs: 15, maxEpisodeSteps: 10, epsDecay: 0.95, validation: 0 };

/** The largest |trainer Q − served Q| over every item, for known users (training windows) and an unknown user with a history. */
async function maxGap(model: DqnModel, policy: DqnPolicy): Promise<number> {
  const itemIds = [...ds.items.ids];
  let gap = 0;
  for (const u of [0, 3, 17, 42]) {
    const want = await model.scoreBatch(Int32Array.of(u), [new Int32Array(0)]);
    const served = await policy.prepare({ userId: ds.users.ids[u]!, history: [], skipped: [], candidates: itemIds });
    expect(served.values.size).toBe(itemIds.length);
    itemIds.forEach((id, i) => (gap = Math.max(gap, Math.abs(served.values.get(id)! - want[i]!))));
  }
  const history = [5, 9, 2, 31, 12, 7];
  const want = await model.scoreBatch(Int32Array.of(-1), [Int32Array.from(history)]);
  const served = await policy.prepare({ userId: 'someone-new', history: history.map((i) => ds.items.ids[i]!), skipped: [], candidates: itemIds });
  itemIds.forEach((id, i) => (gap = Math.max(gap, Math.abs(served.values.get(id)! - want[i]!))));
  return gap;
}

describe('DQN bundle', () => {
  it('serves the trainer Q-values from core (≤ 1e-4), with the belief term folded in by core', async () => {
    for (const [name, extra] of [
      ['ridge', small],
      ['ridge-user-prior-0', { ...small, userPrior: 0 }],
      ['no-prior', { ...small, prior: 'none' }],
    ] as const) {
      const model = (await dqnModel.fit(train, { seed: 5, extra })) as DqnModel;
      const out = path.join(dir, `parity-${name}`);
      const written = await writeModelBundle(out, model, train);
      expect(written.manifest.rl).toMatchObject({ kind: 'dqn', algorithm: 'dqn', graph: 'q_network', weights: 'rl.weights', stateSize: 4 });
      expect(written.manifest.graphs.q_network?.inputs.map((i) => i.name)).toEqual(['liked', 'liked_len', 'skipped', 'skipped_len', 'candidates', 'prior']);
      const policy = await createDqnPolicy(await loadBundle(directorySource(out)), backend, { epsilon: 0 });
      try {
        expect(await maxGap(model, policy)).toBeLessThanOrEqual(1e-4);
      } finally {
        await policy.dispose();
      }
    }
  }, 60_000);

  it('with episodeBelief=0 live feedback reaches the GRUs only: served Q equals the trainer Q of the same windows; by default it also moves the belief', async () => {
    const u = 3;
    const liveLiked = [5, 9];
    const liveSkipped = [12];
    const gapWithLiveFeedback = async (episodeBelief: number) => {
      const model = (await dqnModel.fit(train, { seed: 5, extra: { ...small, episodeBelief } })) as DqnModel;
      const out = path.join(dir, `episode-belief-${episodeBelief}`);
      await writeModelBundle(out, model, train);
      // the trainer's state for the same request: the training windows, then the live items pushed in
      const { side } = model.dqnBundleParts();
      const N = side.stateSize;
      const liked = Array.from(side.liked.subarray(u * N, (u + 1) * N));
      const skipped = Array.from(side.skipped.subarray(u * N, (u + 1) * N));
      const pushAll = (window: number[], items: number[]) => [...window, ...items].slice(-N);
      const state = Int32Array.from([...pushAll(liked, liveLiked), ...pushAll(skipped, liveSkipped)]);
      const want = model.qValues(Int32Array.of(u), state);
      const policy = await createDqnPolicy(await loadBundle(directorySource(out)), backend, { epsilon: 0 });
      try {
        const itemIds = [...ds.items.ids];
        const served = await policy.prepare({ userId: ds.users.ids[u]!, history: liveLiked.map((i) => ds.items.ids[i]!), skipped: liveSkipped.map((i) => ds.items.ids[i]!), candidates: itemIds });
        return Math.max(...itemIds.map((id, i) => Math.abs(served.values.get(id)! - want[i]!)));
      } finally {
        await policy.dispose();
      }
    };
    expect(await gapWithLiveFeedback(0)).toBeLessThanOrEqual(1e-4);
    expect(await gapWithLiveFeedback(1)).toBeGreaterThan(1e-3);
  }, 60_000);

  it('refuses a bundle whose Q-network is missing or declared with shapes that do not match', async () => {
    const model = (await dqnModel.fit(train, { seed: 6, extra: small })) as DqnModel;
    const good = path.join(dir, 'good');
    await writeModelBundle(good, model, train);
    const broken = async (name: string, edit: (m: Record<string, any>) => void) => {
      const out = path.join(dir, name);
      await cp(good, out, { recursive: true });
      const manifest = JSON.parse(await readFile(path.join(out, 'manifest.json'), 'utf8')) as Record<string, any>;
      edit(manifest);
      await writeFile(path.join(out, 'manifest.json'), JSON.stringify(manifest));
      return createDqnPolicy(await loadBundle(directorySource(out)), backend).then(
        () => undefined,
        (e: unknown) => e,
      );
    };
    const missing = await broken('missing-graph', (m) => delete m.graphs.q_network);
    expect(missing).toBeInstanceOf(BundleError);
    expect((missing as BundleError).message).toMatch(/rl.graph names "q_network"/);
    const wide = await broken('wide-state', (m) => (m.graphs.q_network.inputs[0].shape = ['batch', 5]));
    expect(wide).toBeInstanceOf(BundleError);
    expect((wide as BundleError).code).toBe('BUNDLE_SIGNATURE_MISMATCH');
    const prior = await broken('prior-width', (m) => (m.graphs.q_network.inputs[5].shape = ['batch', 3]));
    expect((prior as BundleError).code).toBe('BUNDLE_SIGNATURE_MISMATCH');
    const state = await broken('state-size', (m) => (m.rl.stateSize = 5));
    expect(state).toBeInstanceOf(BundleError);
    // a graph the manifest declares with an input it does not have
    const renamed = await broken('renamed-input', (m) => (m.graphs.q_network.inputs[1].name = 'liked_length'));
    expect((renamed as BundleError).code).toBe('BUNDLE_SIGNATURE_MISMATCH');
  }, 30_000);

  it('is trained from the CLI and served as policy "dqn"; a skip event reaches the skipped-items GRU', async () => {
    const csv = path.join(dir, 'ratings.csv');
    const lines = ['user,item,rating,ts'];
    for (let j = 0; j < ds.interactions.user.length; j++) {
      lines.push(`${ds.users.ids[ds.interactions.user[j]!]},${ds.items.ids[ds.interactions.item[j]!]},${ds.interactions.value[j]},${ds.interactions.timestamp![j]}`);
    }
    await writeFile(csv, `${lines.join('\n')}\n`);
    const out = path.join(dir, 'dqn');
    const trained = await runCli([
      'train', '--data', csv, '--format', 'csv', '--user-col', 'user', '--item-col', 'item', '--value-col', 'rating', '--time-col', 'ts',
      '--model', 'dqn', '--out', out, '--epochs', '60', '--dim', '6', '--quiet',
      '--set', 'stateSize=4', '--set', 'embeddingEpochs=15', '--set', 'envs=8', '--set', 'batchSize=16', '--set', 'warmup=32', '--set', 'hidden=8', '--set', 'mlpHidden=16',
    ]);
    expect(trained.stderr).toBe('');
    expect(trained.code).toBe(0);

    const node = await createNodeApp({ bundle: out, db: path.join(dir, 'serve.db'), keys: { secret: 'sk', publishable: 'pk' }, device: 'cpu', index: 'exact', logger: silentLogger, processMetrics: false });
    // the same bundle's Q-network, to read the Q-values of a logged state
    const bundle = await loadBundle(directorySource(out));
    const policy = await createDqnPolicy(bundle, backend);
    const headers = { authorization: 'Bearer pk', 'content-type': 'application/json' };
    const userId = ds.users.ids[3]!;
    try {
      const ask = async () => {
        // epsilon 0.1 by default: ask for the whole pool so the served order can be checked greedily below
        const res = await node.app.request('/v1/recommend', { method: 'POST', headers, body: JSON.stringify({ userId, k: 10, policy: 'dqn' }) });
        expect(res.status).toBe(200);
        const body = (await res.json()) as { recommId: string; policy: string; items: { itemId: string; propensity: number }[] };
        expect(body.policy).toBe('dqn');
        const logged = await node.store.getRecommendation(body.recommId);
        return { body, state: logged!.userFeatures! };
      };
      const before = await ask();
      expect(before.body.items.length).toBe(10);
      for (const item of before.body.items) expect(item.propensity).toBeGreaterThan(0);
      const skippedItem = before.body.items[0]!.itemId;
      const sent = await node.app.request('/v1/events', {
        method: 'POST',
        headers,
        body: JSON.stringify({ events: [{ eventId: 'skip-1', type: 'skip', userId, itemId: skippedItem, recommId: before.body.recommId }] }),
      });
      expect(((await sent.json()) as { accepted: number }).accepted).toBe(1);
      const after = await ask();
      // the state's skipped window (slots 1 + N .. 1 + 2N) now ends with the skipped item's row
      const N = policy.stateSize;
      // rows of the CLI's bundle follow the CSV's order, not the synthetic data set's
      const row = bundle.itemIds.indexOf(skippedItem);
      expect(after.state[2 * N]).toBe(row);
      expect(Array.from(after.state.subarray(1, 1 + N))).toEqual(Array.from(before.state.subarray(1, 1 + N)));
      const ids = [...ds.items.ids];
      const qBefore = await policy.qValues(before.state, ids);
      const qAfter = await policy.qValues(after.state, ids);
      const changed = ids.filter((id) => Math.abs(qAfter.get(id)! - qBefore.get(id)!) > 1e-6);
      expect(changed.length).toBe(ids.length);
      // the served slate is ranked by those Q-values wherever the policy did not explore
      const greedy = after.body.items.filter((i) => i.propensity > 0.5).map((i) => qAfter.get(i.itemId)!);
      expect(greedy.length).toBeGreaterThan(0);
      for (let j = 1; j < greedy.length; j++) expect(greedy[j]!).toBeLessThanOrEqual(greedy[j - 1]! + 1e-6);
    } finally {
      await policy.dispose();
      await node.close();
    }
  }, 120_000);
});
