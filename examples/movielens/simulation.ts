/**
 * ML-100K online simulation: train a bundle on the 75 % part of every user's ratings, serve it with
 * the real Node server, and let the held-out part of each user decide what they click. Every policy
 * learns only through POST /v1/events, the same path a browser's clicks take.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createRng } from '@tastemaker/core';
import { createNodeApp, DEFAULT_POLICIES, silentLogger, type NodeApp, type ServerPolicyConfig } from '@tastemaker/server';
import {
  fitModel,
  makeSplit,
  readDataset,
  Rng,
  silentProgress,
  TRAINER_VERSION,
  writeBundle,
  type Dataset,
  type Split,
  type TrainSet,
} from '@tastemaker/trainer';

export const POLICY_NAMES = ['random', 'popularity', 'greedy', 'thompson', 'linucb', 'epsilon-greedy'] as const;
export type PolicyName = (typeof POLICY_NAMES)[number];

export const SIMULATION_MODELS = ['bpr', 'two-tower'] as const;
export type SimulationModel = (typeof SIMULATION_MODELS)[number];

export interface SimulationOptions {
  /** ML-100K directory (u.data, u.item, u.user…). */
  dataDir: string;
  /** Seeds the split, training, user order and every policy's random choices. */
  seed: number;
  /** Visits per user. */
  rounds: number;
  /** Slate size. */
  k: number;
  /** Play at most this many held-out users (a seeded sample); default all of them. */
  users?: number;
  /** Model behind every policy but popularity. Default bpr. */
  model?: SimulationModel;
  /** Training epochs; default the model's own. */
  epochs?: number;
  /** Default all of POLICY_NAMES, in that order. */
  policies?: readonly PolicyName[];
  /** A held-out rating at or above this is a click. Default 4. */
  clickThreshold?: number;
  /**
   * false (default): the client asks the server to exclude items it already showed this user, as an
   * app avoids repeating a slate its user ignored. true: no exclusion, so a policy that does not
   * change its mind about a user shows them the same ignored items on every visit.
   */
  reshow?: boolean;
  /**
   * Server policy configs to use instead of the defaults (DEFAULT_POLICIES with a seeded rng), e.g.
   * to try another LinUCB alpha. popularity runs its config over the popularity bundle.
   */
  configs?: Partial<Record<PolicyName, ServerPolicyConfig>>;
  /** Progress lines (stderr in the CLI). */
  log?: (message: string) => void;
}

export interface PolicyResult {
  policy: PolicyName;
  /** The policy kind the server ran (popularity is greedy over the popularity bundle). */
  kind: string;
  bundle: string;
  impressions: number;
  clicks: number;
  ctr: number;
  /** CTR of each round: whether a policy keeps finding new hits once the obvious ones are clicked. */
  ctrByRound: number[];
  /** Share of all held-out positives of the played users that were clicked at least once. */
  recall: number;
  seconds: number;
}

export interface SimulationResult {
  dataset: string;
  protocol: string;
  model: SimulationModel;
  seed: number;
  rounds: number;
  k: number;
  reshow: boolean;
  users: number;
  /** Held-out (user, item) pairs rated at or above the click threshold, over the played users. */
  positives: number;
  trainSeconds: number;
  policies: PolicyResult[];
  notes: string[];
}

/** One held-out user: what the server may know (train ratings) and what only their clicks reveal. */
interface PlayedUser {
  id: string;
  train: { itemId: string; rating: number; timestamp: number }[];
  /** Held-out items rated ≥ threshold; never sent to the server except as clicks. */
  positives: ReadonlySet<string>;
}

interface Prepared {
  dir: string;
  modelBundle: string;
  popularityBundle: string;
  users: PlayedUser[];
  /** ms; simulated time starts after the last rating so clicks are every user's most recent history. */
  startTime: number;
  trainSeconds: number;
  notes: string[];
}

const DAY_MS = 86_400_000;

export async function runSimulation(options: SimulationOptions): Promise<SimulationResult> {
  const model = options.model ?? 'bpr';
  const policies = options.policies ?? POLICY_NAMES;
  checkOptions(options, model, policies);
  const log = options.log ?? (() => {});
  const prepared = await prepare(options, model, log);
  try {
    const results: PolicyResult[] = [];
    for (const policy of policies) {
      log(`playing ${prepared.users.length} users × ${options.rounds} rounds with ${policy}…`);
      const result = await playPolicy(policy, prepared, options);
      log(`${policy}: CTR ${result.ctr.toFixed(4)} (${result.clicks} clicks / ${result.impressions} impressions) in ${result.seconds.toFixed(1)} s`);
      results.push(result);
    }
    const positives = prepared.users.reduce((n, u) => n + u.positives.size, 0);
    return {
      dataset: 'movielens-100k',
      protocol: 'ratio-75',
      model,
      seed: options.seed,
      rounds: options.rounds,
      k: options.k,
      reshow: options.reshow ?? false,
      users: prepared.users.length,
      positives,
      trainSeconds: round(prepared.trainSeconds, 1),
      policies: results,
      notes: prepared.notes,
    };
  } finally {
    await rm(prepared.dir, { recursive: true, force: true });
  }
}

function checkOptions(options: SimulationOptions, model: string, policies: readonly string[]): void {
  const positiveInt = (name: string, v: number | undefined) => {
    if (v !== undefined && (!Number.isInteger(v) || v < 1)) throw new RangeError(`${name} must be a positive integer, got ${String(v)}`);
  };
  positiveInt('rounds', options.rounds);
  positiveInt('k', options.k);
  positiveInt('users', options.users);
  positiveInt('epochs', options.epochs);
  if (!Number.isInteger(options.seed)) throw new RangeError(`seed must be an integer, got ${String(options.seed)}`);
  if (!(SIMULATION_MODELS as readonly string[]).includes(model)) {
    throw new RangeError(`model must be one of ${SIMULATION_MODELS.join(', ')}, got ${JSON.stringify(model)}`);
  }
  for (const p of policies) {
    if (!(POLICY_NAMES as readonly string[]).includes(p)) throw new RangeError(`unknown policy ${JSON.stringify(p)}; valid: ${POLICY_NAMES.join(', ')}`);
  }
}

async function prepare(options: SimulationOptions, model: SimulationModel, log: (m: string) => void): Promise<Prepared> {
  const dataset = await readDataset('movielens-100k', options.dataDir);
  const split = await makeSplit(dataset, 'ratio-75', { seed: options.seed });
  const threshold = options.clickThreshold ?? 4;
  const users = playedUsers(dataset, split, threshold, options.users, options.seed);
  if (users.length === 0) throw new Error('no held-out user has a rating at or above the click threshold');

  const dir = await mkdtemp(join(tmpdir(), 'tastemaker-movielens-'));
  try {
    const modelBundle = join(dir, model);
    const popularityBundle = join(dir, 'popularity');
    log(`training ${model} on the ratio-75 train part of ML-100K (seed ${options.seed})…`);
    const t0 = performance.now();
    const backend = await trainBundle(model, split.train, modelBundle, options);
    const trainSeconds = (performance.now() - t0) / 1000;
    await trainBundle('popularity', split.train, popularityBundle, options);
    log(`trained ${model} in ${trainSeconds.toFixed(1)} s (${backend})`);

    let last = 0;
    const ts = dataset.interactions.timestamp;
    for (let r = 0; r < ts.length; r++) last = Math.max(last, ts[r] ?? 0);
    return {
      dir,
      modelBundle,
      popularityBundle,
      users,
      // ML-100K timestamps are seconds; events take ms.
      startTime: last * 1000 + DAY_MS,
      trainSeconds,
      notes: [
        ...split.notes,
        `${users.length} held-out users played; a user clicks a shown item only if they rated it ≥ ${threshold} in their held-out 25 %, at most once per item.`,
        `${model} trained on the 75 % part (backend ${backend}); popularity counts training users per item.`,
        'Each user’s training ratings are sent as rating events (no recommId, so they teach no policy) before play: that is the history the server sees.',
        options.reshow === true
          ? 'No exclusion: the server may show a user items they already ignored.'
          : 'The client excludes items it already showed the user, for every policy alike.',
      ],
    };
  } catch (error) {
    await rm(dir, { recursive: true, force: true });
    throw error;
  }
}

/**
 * The users with at least one held-out item rated ≥ threshold (a user with none would add the same
 * zero-click impressions to every policy), optionally a seeded sample of them.
 */
function playedUsers(dataset: Dataset, split: Split, threshold: number, limit: number | undefined, seed: number): PlayedUser[] {
  if (split.test.kind !== 'ranking') throw new Error('ratio-75 should give a ranking test');
  const { user, item, value, timestamp } = dataset.interactions;
  // Highest rating per (user, item): ML-100K has one row per pair, but a repeat must not hide a high one.
  const rating = new Map<number, number>();
  const nItems = dataset.items.size;
  for (let r = 0; r < user.length; r++) {
    const key = (user[r] as number) * nItems + (item[r] as number);
    rating.set(key, Math.max(rating.get(key) ?? -Infinity, value[r] as number));
  }
  const train = split.train.dataset.interactions;
  const trainRows = new Map<number, number[]>();
  for (let r = 0; r < train.user.length; r++) {
    const u = train.user[r] as number;
    const rows = trainRows.get(u) ?? [];
    rows.push(r);
    trainRows.set(u, rows);
  }

  const out: PlayedUser[] = [];
  const { users, relevant } = split.test;
  for (let j = 0; j < users.length; j++) {
    const u = users[j] as number;
    const held = relevant[j] ?? new Int32Array(0);
    const positives = new Set<string>();
    for (const i of held) if ((rating.get(u * nItems + i) ?? -Infinity) >= threshold) positives.add(dataset.items.ids[i] as string);
    if (positives.size === 0) continue;
    out.push({
      id: dataset.users.ids[u] as string,
      positives,
      train: (trainRows.get(u) ?? []).map((r) => ({
        itemId: dataset.items.ids[train.item[r] as number] as string,
        rating: train.value[r] as number,
        timestamp: (train.timestamp[r] as number) * 1000,
      })),
    });
  }
  if (limit === undefined || limit >= out.length) return out;
  // Sample, then restore id order so a smaller run plays a subset in the same order as a larger one.
  const order = new Rng(seed ^ 0x5eed).shuffle(out.map((_, i) => i)).slice(0, limit);
  return order.sort((a, b) => a - b).map((i) => out[i] as PlayedUser);
}

async function trainBundle(model: string, train: TrainSet, dir: string, options: SimulationOptions): Promise<string> {
  const fitted = await fitModel(model, train, {
    seed: options.seed,
    progress: silentProgress,
    ...(options.epochs !== undefined && model !== 'popularity' ? { epochs: options.epochs } : {}),
  });
  try {
    await writeBundle(dir, {
      modelId: model,
      spec: fitted.exportSpec(),
      dataset: train.dataset,
      trainCsr: train.csr,
      params: fitted.info.params,
      backend: fitted.info.backend,
      trainerVersion: TRAINER_VERSION,
    });
    return fitted.info.backend;
  } finally {
    fitted.dispose();
  }
}

/**
 * The server-side config of each simulated policy: the server's defaults, with a seeded rng where
 * the policy draws random numbers so that a run replays exactly.
 */
export function policyConfig(policy: PolicyName, seed: number): ServerPolicyConfig {
  const rng = createRng(seed);
  const defaults = (name: string): ServerPolicyConfig => {
    const config = DEFAULT_POLICIES[name];
    if (config === undefined) throw new Error(`DEFAULT_POLICIES has no ${name}`);
    return config;
  };
  switch (policy) {
    case 'popularity':
    case 'greedy':
      return { kind: 'greedy' };
    case 'random':
      return { kind: 'random', rng };
    case 'linucb':
      return defaults('linucb');
    case 'thompson':
    case 'epsilon-greedy': {
      const config = defaults(policy);
      if (config.kind !== 'thompson' && config.kind !== 'epsilon-greedy') throw new Error(`DEFAULT_POLICIES.${policy} is a ${config.kind}`);
      return { ...config, rng };
    }
  }
}

interface RecommendBody {
  recommId: string;
  policy: string;
  items: { itemId: string; position: number }[];
}

interface EventsBody {
  accepted: number;
  duplicates: number;
  rejected: { index: number; error: { code: string; message: string } }[];
}

interface SimEvent {
  eventId: string;
  type: 'impression' | 'click' | 'rating';
  userId: string;
  itemId: string;
  recommId?: string;
  position?: number;
  value?: number;
  timestamp: number;
}

/** Plays every user for every round against a fresh server that runs only this policy. */
async function playPolicy(policy: PolicyName, prepared: Prepared, options: SimulationOptions): Promise<PolicyResult> {
  const started = performance.now();
  const dbDir = await mkdtemp(join(prepared.dir, `db-${policy}-`));
  const bundle = policy === 'popularity' ? prepared.popularityBundle : prepared.modelBundle;
  const config = options.configs?.[policy] ?? policyConfig(policy, options.seed);
  let node: NodeApp | undefined;
  try {
    node = await createNodeApp({
      bundle,
      db: join(dbDir, 'tastemaker.db'),
      // NORMAL survives a crash of this process, which is all a throwaway simulation needs, and
      // spares one fsync per event batch.
      sqlite: { synchronous: 'NORMAL' },
      policies: { [policy]: config },
      defaultPolicy: policy,
      // The catalogue is 1,682 movies: exact search, so HNSW recall plays no part in the comparison.
      index: 'exact',
      device: 'cpu',
      keys: {},
      env: {},
      logger: silentLogger,
      processMetrics: false,
    });
    const app = node.app;
    const post = async <T>(path: string, body: unknown): Promise<T> => {
      const res = await app.request(path, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
      const json = (await res.json()) as unknown;
      if (res.status !== 200) throw new Error(`${path} answered ${res.status}: ${JSON.stringify(json)}`);
      return json as T;
    };
    const send = async (events: SimEvent[]) => {
      for (let at = 0; at < events.length; at += 1000) {
        const batch = events.slice(at, at + 1000);
        const answer = await post<EventsBody>('/v1/events', { events: batch });
        if (answer.rejected.length > 0 || answer.accepted !== batch.length) {
          throw new Error(`/v1/events did not take every event: ${JSON.stringify(answer).slice(0, 500)}`);
        }
      }
    };

    await send(
      prepared.users.flatMap((u) =>
        u.train.map((t): SimEvent => ({ eventId: `train:${u.id}:${t.itemId}`, type: 'rating', userId: u.id, itemId: t.itemId, value: t.rating, timestamp: t.timestamp })),
      ),
    );

    // Same seed for every policy, so each sees the users in the same order.
    const orderRng = new Rng(options.seed ^ 0x0de7);
    const clicked = new Map<string, Set<string>>(prepared.users.map((u) => [u.id, new Set<string>()]));
    const shown = new Map<string, Set<string>>(prepared.users.map((u) => [u.id, new Set<string>()]));
    const reshow = options.reshow ?? false;
    let now = prepared.startTime;
    let impressions = 0;
    let clicks = 0;
    const ctrByRound: number[] = [];
    for (let round = 0; round < options.rounds; round++) {
      const order = orderRng.shuffle(prepared.users.map((_, i) => i));
      let roundImpressions = 0;
      let roundClicks = 0;
      for (const index of order) {
        const user = prepared.users[index] as PlayedUser;
        const before = shown.get(user.id) as Set<string>;
        const slate = await post<RecommendBody>('/v1/recommend', {
          userId: user.id,
          k: options.k,
          policy,
          // What this client already showed the user: no policy remembers that a user ignored a movie,
          // so it would come back on every visit (README, "Repeated slates"). The server takes at
          // most 1,000 ids; the most recent ones matter most.
          ...(reshow || before.size === 0 ? {} : { exclude: [...before].slice(-1000) }),
        });
        const seen = clicked.get(user.id) as Set<string>;
        const events: SimEvent[] = [];
        for (const item of slate.items) {
          before.add(item.itemId);
          now += 1000;
          const base = { userId: user.id, itemId: item.itemId, recommId: slate.recommId, position: item.position, timestamp: now };
          events.push({ ...base, eventId: `${slate.recommId}:${item.position}:impression`, type: 'impression' });
          if (user.positives.has(item.itemId) && !seen.has(item.itemId)) {
            events.push({ ...base, eventId: `${slate.recommId}:${item.position}:click`, type: 'click' });
            seen.add(item.itemId);
            roundClicks++;
          }
        }
        roundImpressions += slate.items.length;
        await send(events);
      }
      impressions += roundImpressions;
      clicks += roundClicks;
      ctrByRound.push(round4(roundImpressions === 0 ? 0 : roundClicks / roundImpressions));
    }

    const positives = prepared.users.reduce((n, u) => n + u.positives.size, 0);
    const found = [...clicked.values()].reduce((n, s) => n + s.size, 0);
    return {
      policy,
      kind: config.kind,
      bundle: policy === 'popularity' ? 'popularity' : (options.model ?? 'bpr'),
      impressions,
      clicks,
      ctr: round4(impressions === 0 ? 0 : clicks / impressions),
      ctrByRound,
      recall: round4(positives === 0 ? 0 : found / positives),
      seconds: round((performance.now() - started) / 1000, 1),
    };
  } finally {
    await node?.close();
    await rm(dbDir, { recursive: true, force: true });
  }
}

function round(x: number, digits: number): number {
  const f = 10 ** digits;
  return Math.round(x * f) / f;
}

function round4(x: number): number {
  return round(x, 4);
}

/** The CTR table as aligned text, best CTR marked. */
export function formatTable(result: SimulationResult): string {
  // Unrounded, so a tie in the printed digits does not mark two policies.
  const rate = (p: PolicyResult) => (p.impressions === 0 ? 0 : p.clicks / p.impressions);
  const best = Math.max(...result.policies.map(rate));
  const header = ['policy', 'bundle', 'impressions', 'clicks', 'CTR', 'recall', 'CTR round 1 → last'];
  const rows = result.policies.map((p) => [
    p.policy + (rate(p) === best ? ' *' : ''),
    p.bundle,
    String(p.impressions),
    String(p.clicks),
    p.ctr.toFixed(4),
    p.recall.toFixed(3),
    `${(p.ctrByRound[0] ?? 0).toFixed(3)} → ${(p.ctrByRound.at(-1) ?? 0).toFixed(3)}`,
  ]);
  const widths = header.map((h, c) => Math.max(h.length, ...rows.map((r) => (r[c] ?? '').length)));
  const line = (cells: string[]) => cells.map((cell, c) => (c === 0 || c === 1 ? cell.padEnd(widths[c] ?? 0) : cell.padStart(widths[c] ?? 0))).join('  ');
  return [
    `ML-100K ${result.protocol} (seed ${result.seed}), ${result.model}: ${result.users} held-out users × ${result.rounds} rounds, k = ${result.k}, ${result.positives} held-out positives`,
    line(header),
    ...rows.map(line),
  ].join('\n');
}
