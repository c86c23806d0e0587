/**
 * HTTP serving bench: the server runs in a forked process (bench/server-worker.ts) with the ML-100K
 * two-tower bundle and a fresh SQLite file; load comes from this process with autocannon, plus an
 * open-loop paced generator for the fixed-rate latency (see pacedLoad for why autocannon's own
 * rate limit is not enough there). Protocol and keys: bench/README.md.
 */
import { fork, type ChildProcess } from 'node:child_process';
import { mkdir, mkdtemp, readFile, rm } from 'node:fs/promises';
import { Agent, request, type ClientRequest } from 'node:http';
import { loadavg, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import autocannon from 'autocannon';
import { dataPath, fitModel, positivesTrainSet, readDataset, Rng, silentProgress, writeModelBundle } from '@tastemaker/trainer';
import type { WorkerConfig, WorkerMessage, WorkerRequest } from './server-worker.js';

export interface ServerBenchOptions {
  /** An existing bundle to serve instead of training one (the training takes about a minute). */
  bundle?: string;
  /** Seconds per measured phase. Default 10. */
  seconds?: number;
  /**
   * The max-rate /healthz and /v1/recommend phases are split into this many alternating rounds
   * (healthz, recommend, healthz, …), each seconds ÷ rounds long. Default 5.
   */
  maxRateRounds?: number;
  /** Seconds of untimed recommend load first, so JIT and ONNX session warm-up stay out of the numbers. Default 3. */
  warmupSeconds?: number;
  /**
   * Concurrent connections of the autocannon phases. Default 50: enough to keep the server busy on
   * /v1/recommend (with 10 its event loop idled ~17 % of the time between a response and the
   * next request); /healthz and /v1/recommend both level off from about 25 (bench/README.md).
   */
  connections?: number;
  /**
   * Connections of the events phase. Default 10: each batch commits with an fsync, which bounds its
   * rate already at 10 connections; more only queue (p99 ~0.1 s at 10, 0.4–0.9 s at 50, same events/s).
   */
  eventsConnections?: number;
  /** Rate of the fixed-rate phase, req/s. Default 1000. */
  rate?: number;
  /** Directory for a .cpuprofile of the server process per measured phase; no profiling when absent. */
  cpuProfileDir?: string;
  log?: (message: string) => void;
}

export interface LatencyStats {
  p50Ms: number;
  p90Ms: number;
  p99Ms: number;
  maxMs: number;
}

export interface PhaseResult extends LatencyStats {
  seconds: number;
  /** 2xx responses per second */
  reqPerSec: number;
  ok: number;
  non2xx: number;
  errors: number;
}

export interface CpuCost {
  /** CPU time of the server process (all its threads, background writes after the phase included) per 2xx response */
  serverCpuMsPerReq: number;
  /** CPU time of this process, the load generator, per 2xx response */
  loadGenCpuMsPerReq: number;
  /** How long after the phase the server still needed to finish its background writes (recommendation log, a checkpoint). */
  settleMs: number;
}

export interface PacedResult extends PhaseResult {
  /** The backlog passed one second of requests, so sending stopped early: the server cannot keep the rate. */
  saturated: boolean;
  /** Requests still unanswered when the phase gave up waiting. */
  unanswered: number;
}

/** Where a phase's recommendations got their candidates, from the server's /metrics (tastemaker_candidate_cache_total). */
export interface CacheCounts {
  hit: number;
  miss: number;
  bypass: number;
  /** hit ÷ all */
  hitRate: number;
}

export type Measured<R extends PhaseResult> = R & CpuCost & { candidateCache?: CacheCounts };

/** One round of the alternating max-rate phases. */
export interface MaxRateRound {
  healthzReqPerSec: number;
  recommendReqPerSec: number;
  recommendOverHealthz: number;
}

/** The alternating max-rate rounds: each side pooled over its rounds, and every round as measured. */
export interface MaxRateResult {
  healthz: Measured<PhaseResult>;
  recommend: Measured<PhaseResult>;
  rounds: MaxRateRound[];
  /** The target's statistic: the median round's recommend req/s ÷ the median round's healthz req/s. */
  recommendOverHealthz: number;
  /** Pooled recommend req/s ÷ pooled healthz req/s, for comparison. */
  recommendOverHealthzPooled: number;
}

/** The same recommend load on a second server process with the per-user candidate cache off. */
export interface CacheOffResult {
  healthz: Measured<PhaseResult>;
  recommend: Measured<PhaseResult>;
  maxRateRounds: MaxRateRound[];
  recommendAtRate: Measured<PacedResult> & { targetRate: number };
  ratios: { recommendOverHealthz: number; recommendOverHealthzPooled: number; recommendCpuOverHealthzCpu: number };
}

export interface ServerBenchResult {
  bundle: { model: string; dataset: string; users: number; items: number; trainSeconds?: number; path?: string };
  setup: {
    serverProcess: string;
    users: string;
    candidateCache: string;
    connections: number;
    eventsConnections: number;
    warmupSeconds: number;
    maxRateRounds: number;
    policy: string;
    store: string;
    auth: string;
    k: number;
    loadAvg1m: { before: number; after: number };
  };
  healthz: Measured<PhaseResult>;
  recommend: Measured<PhaseResult>;
  maxRateRounds: MaxRateRound[];
  recommendAtRate: Measured<PacedResult> & { method: string; targetRate: number };
  recommendAtRateAutocannon: Measured<PhaseResult> & { method: string; targetRate: number };
  events: Measured<PhaseResult> & { batchSize: number; eventsPerSec: number; accepted: number; duplicates: number; rejected: number; slatesReused: boolean };
  ratios: { recommendOverHealthz: number; recommendOverHealthzPooled: number; recommendCpuOverHealthzCpu: number };
  /** The recommend phases again with the candidate cache off (a second server process, after the phases above). */
  candidateCacheOff: CacheOffResult;
  targets: {
    recommendOverHealthz: { atLeast: number; got: number; met: boolean };
    p99AtRate: { rate: number; atMostMs: number; gotMs: number; met: boolean };
    /** The same two targets with the candidate cache off, for comparison. */
    cacheOff: {
      recommendOverHealthz: { atLeast: number; got: number; met: boolean };
      p99AtRate: { rate: number; atMostMs: number; gotMs: number; met: boolean };
    };
  };
}

const K = 10;
/** Connections of the autocannon overallRate comparison phase (each sends rate ÷ this per second). */
const RATE_CONNECTIONS = 10;
/** Seconds of unmeasured paced load before each paced phase (see pacedPhase). */
const PACED_WARMUP_SECONDS = 2;
const EVENTS_PER_BATCH = 50;
const KEYS = { secret: 'bench-secret-key', publishable: 'bench-publishable-key' };
const AUTH = { authorization: `Bearer ${KEYS.publishable}`, 'content-type': 'application/json' };
const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
/** The built server (`npm run build`, which bench/run.ts runs before this section): what `tastemaker serve` runs. */
const SERVER_MODULE = join(ROOT, 'packages', 'server', 'dist', 'node.js');

/** One served recommendation, kept so that events can answer it like a real client would. */
interface Slate {
  recommId: string;
  userId: string;
  items: string[];
}

export async function benchServer(options: ServerBenchOptions = {}): Promise<ServerBenchResult> {
  const log = options.log ?? (() => {});
  const seconds = options.seconds ?? 10;
  const warmupSeconds = options.warmupSeconds ?? 3;
  const connections = options.connections ?? 50;
  const eventsConnections = options.eventsConnections ?? 10;
  const maxRateRounds = options.maxRateRounds ?? 5;
  if (!Number.isInteger(maxRateRounds) || maxRateRounds < 1) throw new Error(`maxRateRounds must be a positive integer, got ${maxRateRounds}`);
  const rate = options.rate ?? 1000;
  const profileDir = options.cpuProfileDir;
  const temp = await mkdtemp(join(tmpdir(), 'tastemaker-bench-server-'));
  if (profileDir !== undefined) await mkdir(profileDir, { recursive: true });
  let server: ServerProcess | undefined;
  let cacheOffServer: ServerProcess | undefined;
  try {
    let bundleDir = options.bundle;
    let trainSeconds: number | undefined;
    if (bundleDir === undefined) {
      bundleDir = join(temp, 'bundle');
      log('training two-tower on all of ML-100K (positives) for the server bench…');
      trainSeconds = await trainBundle(bundleDir);
    }
    const users = JSON.parse(await readFile(join(bundleDir, 'users.json'), 'utf8')) as string[];
    const manifest = JSON.parse(await readFile(join(bundleDir, 'manifest.json'), 'utf8')) as { model?: { kind?: string }; dataset?: { name?: string } | string };
    const items = (JSON.parse(await readFile(join(bundleDir, 'items.json'), 'utf8')) as string[]).length;

    const loadBefore = loadavg()[0] ?? Number.NaN;
    server = await ServerProcess.start({ bundle: bundleDir, db: join(temp, 'bench.db'), keys: KEYS });
    const { url } = server;
    log(`server process ${server.pid} listening at ${url}`);

    const rng = new Rng(42);
    const randomUser = () => users[rng.int(users.length)] as string;
    // Every request names a user drawn uniformly from all of them (943 for ML-100K), so a cache only
    // helps as much as it would with that many users coming back.
    const recommendBody = () => JSON.stringify({ userId: randomUser(), k: K });

    // Fail loudly on a broken setup rather than benchmarking 4xx answers.
    const probe = await fetch(`${url}/v1/recommend`, { method: 'POST', headers: AUTH, body: recommendBody() });
    const sample = (await probe.json()) as { policy?: string; model?: string; items?: unknown[] };
    if (probe.status !== 200 || sample.items?.length !== K) throw new Error(`recommend probe failed: ${probe.status} ${JSON.stringify(sample)}`);

    log(`warm-up ${warmupSeconds} s…`);
    await cannon({ url: `${url}/healthz`, connections, duration: 1 });
    await cannon({ url: `${url}/v1/recommend`, connections, duration: warmupSeconds, method: 'POST', headers: AUTH, body: recommendBody });

    /** Adds each side's CPU per answered request, the candidate cache's answers, and the phase's profile when asked for. */
    const measured = async <R extends PhaseResult>(
      name: string,
      run: () => Promise<R>,
      on: ServerProcess = server as ServerProcess,
    ): Promise<Measured<R>> => {
      const running = on;
      const cache0 = await cacheCounts(running.url);
      if (profileDir !== undefined) await running.ask({ type: 'profile-start' });
      const server0 = await running.cpuMs();
      const gen0 = process.cpuUsage();
      const result = await run();
      const gen = process.cpuUsage(gen0);
      // The server writes its recommendation log and checkpoints on a worker thread, which may still
      // be at it: wait for it, so the phase is charged for its own writes and the next one starts clean.
      const settleStart = performance.now();
      await running.ask({ type: 'settle' });
      const settleMs = performance.now() - settleStart;
      const serverMs = (await running.cpuMs()) - server0;
      if (profileDir !== undefined) await running.ask({ type: 'profile-stop', path: join(profileDir, `server-${name}.cpuprofile`) });
      const cache1 = await cacheCounts(running.url);
      const genMs = (gen.user + gen.system) / 1000;
      const cache = { hit: cache1.hit - cache0.hit, miss: cache1.miss - cache0.miss, bypass: cache1.bypass - cache0.bypass };
      const out = { ...result, ...cpuCost(result.ok, serverMs, genMs, settleMs), ...cacheResult(cache) };
      raw.set(out, { latencies: latenciesOf.get(result) ?? [], serverMs, genMs, settleMs, cache });
      return out;
    };

    /**
     * The paced phase after PACED_WARMUP_SECONDS of the same paced load, unmeasured, on the same
     * keep-alive sockets: without it the first second measured the load generator's own warm-up
     * (its node:http client code still unoptimised, new sockets for every burst), seconds of backlog
     * that the server then worked off (p99 in seconds, every run).
     */
    const pacedPhase = async (name: string, on: ServerProcess, run: (agent: Agent) => Promise<PacedResult>) => {
      const agent = new Agent({ keepAlive: true, maxSockets: 256 });
      try {
        await pacedLoad(`${on.url}/v1/recommend`, rate, PACED_WARMUP_SECONDS, recommendBody, () => {}, agent);
        return await measured(name, () => run(agent), on);
      } finally {
        agent.destroy();
      }
    };

    /**
     * /healthz and /v1/recommend at max rate in alternating rounds. On this shared 2-core machine
     * /healthz swings between about 14 k and 35 k req/s from one minute to the next while recommend
     * moves far less, so one long phase of each measured the machine's state at two moments as much
     * as the server. Alternating short rounds puts both under the same conditions, and the median
     * round of each side leaves out the odd round that caught a stall or a burst of spare CPU.
     */
    const maxRate = async (on: ServerProcess, prefix: string): Promise<MaxRateResult> => {
      const roundSeconds = seconds / maxRateRounds;
      const healthzRounds: Measured<PhaseResult>[] = [];
      const recommendRounds: Measured<PhaseResult>[] = [];
      for (let r = 1; r <= maxRateRounds; r++) {
        log(`${prefix}round ${r} of ${maxRateRounds}: /healthz then /v1/recommend at max rate, ${roundSeconds} s each…`);
        healthzRounds.push(await measured(`${prefix}healthz-${r}`, () => cannon({ url: `${on.url}/healthz`, connections, duration: roundSeconds }), on));
        recommendRounds.push(
          await measured(
            `${prefix}recommend-${r}`,
            () => cannon({ url: `${on.url}/v1/recommend`, connections, duration: roundSeconds, method: 'POST', headers: AUTH, body: recommendBody }),
            on,
          ),
        );
      }
      const healthz = pooled(healthzRounds);
      const recommend = pooled(recommendRounds);
      return {
        healthz,
        recommend,
        rounds: healthzRounds.map((h, i) => {
          const rec = recommendRounds[i] as Measured<PhaseResult>;
          return { healthzReqPerSec: h.reqPerSec, recommendReqPerSec: rec.reqPerSec, recommendOverHealthz: round(rec.reqPerSec / h.reqPerSec, 3) };
        }),
        recommendOverHealthz: round(median(recommendRounds.map((x) => x.reqPerSec)) / median(healthzRounds.map((x) => x.reqPerSec)), 3),
        recommendOverHealthzPooled: round(recommend.reqPerSec / healthz.reqPerSec, 3),
      };
    };

    const main = await maxRate(server, '');
    const { healthz, recommend } = main;

    log(`/v1/recommend paced at ${rate} req/s, ${seconds} s…`);
    const slates: Slate[] = [];
    // Served slates are kept for the events phase, which answers them as a client would.
    const keepSlate = (response: string, sent: string) => {
      const r = JSON.parse(response) as { recommId: string; items: { itemId: string }[] };
      const { userId } = JSON.parse(sent) as { userId: string };
      slates.push({ recommId: r.recommId, userId, items: r.items.map((i) => i.itemId) });
    };
    const paced = await pacedPhase('recommend-paced', server, (agent) => pacedLoad(`${url}/v1/recommend`, rate, seconds, recommendBody, keepSlate, agent));

    log(`/v1/recommend with autocannon overallRate ${rate}, ${seconds} s…`);
    const burst = await measured('recommend-overall-rate', () =>
      cannon({ url: `${url}/v1/recommend`, connections: RATE_CONNECTIONS, duration: seconds, method: 'POST', headers: AUTH, body: recommendBody, onBody: keepSlate, overallRate: rate }),
    );

    log(`/v1/events in batches of ${EVENTS_PER_BATCH}, ${seconds} s…`);
    const totals = { accepted: 0, duplicates: 0, rejected: 0 };
    const batches = eventBatches(slates, rng);
    const events = await measured('events', () =>
      cannon({
        url: `${url}/v1/events`,
        connections: eventsConnections,
        duration: seconds,
        method: 'POST',
        headers: AUTH,
        body: batches.next,
        onBody: (body) => {
          const r = JSON.parse(body) as { accepted: number; duplicates: number; rejected: unknown[] };
          totals.accepted += r.accepted;
          totals.duplicates += r.duplicates;
          totals.rejected += r.rejected.length;
        },
      }),
    );
    await server.close();
    server = undefined;

    // The recommend phases again on a fresh server with the candidate cache off: what every request
    // costs when it runs the history query, the user graph and the item search.
    cacheOffServer = await ServerProcess.start({ bundle: bundleDir, db: join(temp, 'bench-cache-off.db'), keys: KEYS, candidateCache: false });
    const offUrl = cacheOffServer.url;
    log(`cache-off server process ${cacheOffServer.pid}: warm-up, then /healthz, /v1/recommend at max rate and paced at ${rate} req/s…`);
    await cannon({ url: `${offUrl}/healthz`, connections, duration: 1 });
    await cannon({ url: `${offUrl}/v1/recommend`, connections, duration: warmupSeconds, method: 'POST', headers: AUTH, body: recommendBody });
    const off = await maxRate(cacheOffServer, 'cache-off-');
    const { healthz: offHealthz, recommend: offRecommend } = off;
    const offPaced = await pacedPhase('cache-off-recommend-paced', cacheOffServer, (agent) => pacedLoad(`${offUrl}/v1/recommend`, rate, seconds, recommendBody, () => {}, agent));
    const loadAfter = loadavg()[0] ?? Number.NaN;

    const recommendOverHealthz = main.recommendOverHealthz;
    const rateHeld = (p: PacedResult) => p.p99Ms <= 10 && !p.saturated && p.unanswered === 0 && p.reqPerSec >= rate * 0.95;
    const pacedMet = rateHeld(paced);
    const offRatio = off.recommendOverHealthz;
    return {
      bundle: {
        model: manifest.model?.kind ?? 'unknown',
        dataset: typeof manifest.dataset === 'string' ? manifest.dataset : (manifest.dataset?.name ?? 'unknown'),
        users: users.length,
        items,
        ...(trainSeconds !== undefined ? { trainSeconds: round(trainSeconds, 1) } : { path: bundleDir }),
      },
      setup: {
        serverProcess:
          'forked process running startServer from the built packages (packages/server/dist, as `tastemaker serve`) with its defaults (its own process; SQLite log writes and WAL checkpoints on a worker thread of it); load generator (autocannon and the paced sender) in the parent process, same machine',
        users: `POST /v1/recommend { userId, k: ${K} } with userId uniform over all ${users.length} users of the bundle`,
        candidateCache: 'on (server default, 10,000 users); per-phase hit/miss from /metrics; candidateCacheOff repeats the recommend phases on a second server with it off',
        connections,
        eventsConnections,
        warmupSeconds,
        maxRateRounds,
        policy: sample.policy ?? 'unknown',
        store: 'sqlite, fresh file, server defaults (WAL; events synchronous FULL, recommendation log NORMAL)',
        auth: 'Bearer publishable key',
        k: K,
        // Other work on the machine takes CPU from both processes; a load average above the core count makes req/s noisy.
        loadAvg1m: { before: round(loadBefore, 2), after: round(loadAfter, 2) },
      },
      healthz,
      recommend,
      maxRateRounds: main.rounds,
      recommendAtRate: { method: 'open loop, evenly paced; latency counted from each scheduled send time', targetRate: rate, ...paced },
      recommendAtRateAutocannon: {
        method: `autocannon overallRate, ${RATE_CONNECTIONS} connections: each sends its ${rate / RATE_CONNECTIONS} requests of every second back to back, then idles`,
        targetRate: rate,
        ...burst,
      },
      events: {
        batchSize: EVENTS_PER_BATCH,
        ...events,
        eventsPerSec: Math.round(totals.accepted / events.seconds),
        ...totals,
        slatesReused: batches.reused(),
      },
      candidateCacheOff: {
        healthz: offHealthz,
        recommend: offRecommend,
        maxRateRounds: off.rounds,
        recommendAtRate: { targetRate: rate, ...offPaced },
        ratios: { recommendOverHealthz: offRatio, recommendOverHealthzPooled: off.recommendOverHealthzPooled, recommendCpuOverHealthzCpu: round(offRecommend.serverCpuMsPerReq / offHealthz.serverCpuMsPerReq, 2) },
      },
      ratios: { recommendOverHealthz, recommendOverHealthzPooled: main.recommendOverHealthzPooled, recommendCpuOverHealthzCpu: round(recommend.serverCpuMsPerReq / healthz.serverCpuMsPerReq, 2) },
      targets: {
        recommendOverHealthz: { atLeast: 0.25, got: recommendOverHealthz, met: recommendOverHealthz >= 0.25 },
        p99AtRate: { rate, atMostMs: 10, gotMs: paced.p99Ms, met: pacedMet },
        cacheOff: {
          recommendOverHealthz: { atLeast: 0.25, got: offRatio, met: offRatio >= 0.25 },
          p99AtRate: { rate, atMostMs: 10, gotMs: offPaced.p99Ms, met: rateHeld(offPaced) },
        },
      },
    };
  } finally {
    await server?.close();
    await cacheOffServer?.close();
    await rm(temp, { recursive: true, force: true });
  }
}

async function trainBundle(dir: string): Promise<number> {
  const dataset = await readDataset('movielens-100k', dataPath('ml-100k'));
  const train = positivesTrainSet(dataset);
  const t0 = performance.now();
  const model = await fitModel('two-tower', train, { seed: 42, progress: silentProgress });
  const seconds = (performance.now() - t0) / 1000;
  try {
    await writeModelBundle(dir, model, train);
  } finally {
    model.dispose();
  }
  return seconds;
}

/** The candidate cache counters on the server's /metrics (secret key). */
async function cacheCounts(url: string): Promise<{ hit: number; miss: number; bypass: number }> {
  const text = await (await fetch(`${url}/metrics`, { headers: { authorization: `Bearer ${KEYS.secret}` } })).text();
  const count = (result: string) => Number(new RegExp(`^tastemaker_candidate_cache_total\\{result="${result}"\\} (\\d+)$`, 'm').exec(text)?.[1] ?? 0);
  return { hit: count('hit'), miss: count('miss'), bypass: count('bypass') };
}

type Ask = { type: 'cpu' } | { type: 'settle' } | { type: 'profile-start' } | { type: 'profile-stop'; path: string };

/** The forked server and its IPC requests, answered by id. */
class ServerProcess {
  private nextId = 0;
  private readonly pending = new Map<number, { resolve: (m: WorkerMessage) => void; reject: (e: Error) => void }>();

  private constructor(
    private readonly child: ChildProcess,
    readonly url: string,
  ) {
    child.on('message', (message: WorkerMessage) => {
      if (!('id' in message)) return;
      const waiter = this.pending.get(message.id);
      this.pending.delete(message.id);
      if (message.type === 'error') waiter?.reject(new Error(`server process: ${message.message}`));
      else waiter?.resolve(message);
    });
    child.on('exit', (code) => {
      for (const waiter of this.pending.values()) waiter.reject(new Error(`server process exited with ${code}`));
      this.pending.clear();
    });
  }

  static async start(options: Omit<WorkerConfig, 'serverModule'>): Promise<ServerProcess> {
    const config: WorkerConfig = { ...options, serverModule: SERVER_MODULE };
    const child = fork(join(ROOT, 'bench', 'server-worker.ts'), [JSON.stringify(config)], {
      cwd: ROOT,
      execArgv: ['--import', 'tsx'],
      // tsconfig.build.json maps no paths, so the built server's own imports (@tastemaker/core) resolve
      // to the built packages too, as they do for `tastemaker serve`, rather than to the sources.
      env: { ...process.env, TSX_TSCONFIG_PATH: join(ROOT, 'tsconfig.build.json') },
      // The worker's stdout would corrupt the bench's JSON on ours.
      stdio: ['ignore', 2, 2, 'ipc'],
    });
    const url = await new Promise<string>((resolve, reject) => {
      child.once('message', (message: WorkerMessage) => {
        if (message.type === 'listening') resolve(message.url);
        else reject(new Error(`server process failed to start: ${message.type === 'failed' ? message.message : message.type}`));
      });
      child.once('exit', (code) => reject(new Error(`server process exited with ${code} before listening`)));
    });
    return new ServerProcess(child, url);
  }

  get pid(): number | undefined {
    return this.child.pid;
  }

  ask(request: Ask): Promise<WorkerMessage> {
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      this.child.send({ ...request, id } satisfies WorkerRequest);
    });
  }

  /** CPU time of the whole server process (event loop, onnxruntime and libuv threads, GC). */
  async cpuMs(): Promise<number> {
    const answer = await this.ask({ type: 'cpu' });
    if (answer.type !== 'cpu') throw new Error(`server process answered ${answer.type} to cpu`);
    return answer.cpuMs;
  }

  async close(): Promise<void> {
    const child = this.child;
    if (child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    child.send({ type: 'close' } satisfies WorkerRequest);
    const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
    await exited;
    clearTimeout(timer);
  }
}

interface SentContext {
  sent?: string;
}

interface CannonOptions {
  url: string;
  connections: number;
  duration: number;
  method?: 'POST';
  headers?: Record<string, string>;
  /** Called for every request: bodies must differ (users, event ids). */
  body?: () => string;
  /** Each 2xx response body with the request body it answers; asking for bodies costs the load generator a little CPU. */
  onBody?: (body: string, sent: string) => void;
  overallRate?: number;
}

/**
 * One autocannon run. Latencies are collected from the 'response' event as floats: autocannon's own
 * histogram rounds to whole milliseconds, too coarse for a 10 ms budget.
 */
async function cannon(options: CannonOptions): Promise<PhaseResult> {
  const latencies: number[] = [];
  const { body, onBody } = options;
  const result = await new Promise<autocannon.Result>((resolve, reject) => {
    const instance = autocannon(
      {
        url: options.url,
        connections: options.connections,
        duration: options.duration,
        ...(options.overallRate !== undefined ? { overallRate: options.overallRate } : {}),
        ...(options.method !== undefined ? { method: options.method } : {}),
        ...(options.headers !== undefined ? { headers: options.headers } : {}),
        requests: [
          {
            ...(body !== undefined
              ? {
                  // Connections do not pipeline, so the body kept in the connection's context is the one this response answers.
                  setupRequest: (req: autocannon.Request, context: SentContext) => {
                    context.sent = body();
                    return { ...req, body: context.sent };
                  },
                }
              : {}),
            ...(onBody !== undefined
              ? { onResponse: (status: number, text: string, context: SentContext) => (status === 200 ? onBody(text, context.sent ?? '') : undefined) }
              : {}),
          },
        ],
      },
      (error: Error | null, done: autocannon.Result) => (error ? reject(error) : resolve(done)),
    );
    instance.on('response', (_client, statusCode, _bytes, responseTime) => {
      if (statusCode >= 200 && statusCode < 300) latencies.push(responseTime);
    });
  });
  const phase: PhaseResult = {
    seconds: round(result.duration, 2),
    reqPerSec: Math.round(result['2xx'] / result.duration),
    ok: result['2xx'],
    non2xx: result.non2xx,
    errors: result.errors,
    ...latencyStats(latencies),
  };
  latenciesOf.set(phase, latencies);
  return phase;
}

/** Each autocannon phase's latencies, kept aside (not in the JSON) for pooling rounds. */
const latenciesOf = new WeakMap<PhaseResult, number[]>();

/** What a measured phase's rounded numbers came from, kept aside (not in the JSON) so that rounds can be pooled. */
interface RawPhase {
  latencies: number[];
  serverMs: number;
  genMs: number;
  settleMs: number;
  cache: { hit: number; miss: number; bypass: number };
}
const raw = new WeakMap<PhaseResult, RawPhase>();

function cpuCost(ok: number, serverMs: number, genMs: number, settleMs: number): CpuCost {
  const per = (ms: number) => (ok > 0 ? round(ms / ok, 3) : Number.NaN);
  return { serverCpuMsPerReq: per(serverMs), loadGenCpuMsPerReq: per(genMs), settleMs: round(settleMs, 1) };
}

function cacheResult({ hit, miss, bypass }: RawPhase['cache']): { candidateCache?: CacheCounts } {
  const total = hit + miss + bypass;
  return total > 0 ? { candidateCache: { hit, miss, bypass, hitRate: round(hit / total, 4) } } : {};
}

/** Rounds of one kind of load as one phase: counts and CPU summed, req/s over their summed time, latencies pooled. */
function pooled(rounds: readonly Measured<PhaseResult>[]): Measured<PhaseResult> {
  const parts = rounds.map((r) => {
    const kept = raw.get(r);
    if (kept === undefined) throw new Error('pooled: a round without its raw numbers');
    return kept;
  });
  const sum = (f: (x: Measured<PhaseResult>) => number) => rounds.reduce((n, x) => n + f(x), 0);
  const sumRaw = (f: (x: RawPhase) => number) => parts.reduce((n, x) => n + f(x), 0);
  const seconds = sum((x) => x.seconds);
  const ok = sum((x) => x.ok);
  return {
    seconds: round(seconds, 2),
    reqPerSec: Math.round(ok / seconds),
    ok,
    non2xx: sum((x) => x.non2xx),
    errors: sum((x) => x.errors),
    ...latencyStats(parts.flatMap((p) => p.latencies)),
    ...cpuCost(
      ok,
      sumRaw((p) => p.serverMs),
      sumRaw((p) => p.genMs),
      sumRaw((p) => p.settleMs),
    ),
    ...cacheResult({ hit: sumRaw((p) => p.cache.hit), miss: sumRaw((p) => p.cache.miss), bypass: sumRaw((p) => p.cache.bypass) }),
  };
}

function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 === 1 ? (sorted[mid] as number) : ((sorted[mid - 1] as number) + (sorted[mid] as number)) / 2;
}

/**
 * Requests at evenly spaced scheduled times, each sent whether or not earlier ones have answered
 * (open loop), with latency counted from the scheduled time so a stalled server cannot hide its
 * queue (coordinated omission). autocannon's overallRate instead lets every connection send its
 * per-second quota back to back and then idle: max-rate load in bursts, not a rate.
 */
async function pacedLoad(
  url: string,
  rate: number,
  seconds: number,
  body: () => string,
  onBody: (response: string, sent: string) => void,
  /** Keep-alive sockets to use (and leave open); a fresh agent, closed at the end, when absent. */
  shared?: Agent,
): Promise<PacedResult> {
  const agent = shared ?? new Agent({ keepAlive: true, maxSockets: 256 });
  const target = new URL(url);
  const latencies: number[] = [];
  const counts = { ok: 0, non2xx: 0, errors: 0 };
  const inFlight = new Set<ClientRequest>();
  const total = Math.round(rate * seconds);
  const interval = 1000 / rate;
  let sent = 0;
  let saturated = false;
  let lastDone = 0;
  const t0 = performance.now();

  const fire = (scheduled: number) => {
    const payload = body();
    const req = request(
      { agent, host: target.hostname, port: target.port, path: target.pathname, method: 'POST', headers: { ...AUTH, 'content-length': Buffer.byteLength(payload) } },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (chunk: Buffer) => chunks.push(chunk));
        res.on('end', () => {
          const done = performance.now();
          lastDone = Math.max(lastDone, done);
          inFlight.delete(req);
          if (res.statusCode === 200) {
            counts.ok++;
            latencies.push(done - scheduled);
            onBody(Buffer.concat(chunks).toString('utf8'), payload);
          } else {
            counts.non2xx++;
          }
        });
      },
    );
    req.on('error', () => {
      if (inFlight.delete(req)) counts.errors++;
    });
    inFlight.add(req);
    req.end(payload);
  };

  await new Promise<void>((resolve) => {
    // A 1 ms timer fires late under load; each tick sends every request that has come due, so the
    // schedule (and the latency baseline) stays exact even when the timer does not.
    const tick = () => {
      const now = performance.now();
      while (sent < total && t0 + sent * interval <= now) fire(t0 + interval * sent++);
      // A second of backlog means the rate is out of reach; more sending would only lengthen the phase.
      if (inFlight.size > rate) saturated = true;
      if (sent < total && !saturated) setTimeout(tick, 1);
      else resolve();
    };
    tick();
  });
  const drainBy = performance.now() + 5_000;
  while (inFlight.size > 0 && performance.now() < drainBy) await new Promise((r) => setTimeout(r, 5));
  // Abandoned requests must not go on loading the server during the next phase.
  const unanswered = inFlight.size;
  for (const req of inFlight) req.destroy();
  inFlight.clear();
  if (shared === undefined) agent.destroy();
  const elapsed = (Math.max(lastDone, t0 + (sent / rate) * 1000) - t0) / 1000;
  return { seconds: round(elapsed, 2), reqPerSec: Math.round(counts.ok / elapsed), ...counts, saturated, unanswered, ...latencyStats(latencies) };
}

/**
 * Batches of 50 events answering served slates as a client would: per slate, impressions of the
 * first 8 items, a click on one of them and a skip on another, all with the slate's recommId so
 * attribution and policy updates run too. Event ids are unique; slates cycle when the pool runs out.
 */
function eventBatches(slates: Slate[], rng: Rng): { next: () => string; reused: () => boolean } {
  const usable = slates.filter((s) => s.items.length >= 8);
  if (usable.length === 0) throw new Error('no served slates to send events for');
  let cursor = 0;
  let wrapped = false;
  let eventSeq = 0;
  const runId = Date.now().toString(36);
  return {
    reused: () => wrapped,
    next() {
      const events: Record<string, unknown>[] = [];
      while (events.length < EVENTS_PER_BATCH) {
        const slate = usable[cursor] as Slate;
        cursor = (cursor + 1) % usable.length;
        if (cursor === 0) wrapped = true;
        const clicked = rng.int(8);
        const skipped = (clicked + 1 + rng.int(7)) % 8;
        const base = (type: string, position: number) => ({
          eventId: `${runId}-${eventSeq++}`,
          type,
          userId: slate.userId,
          itemId: slate.items[position] as string,
          recommId: slate.recommId,
          position,
        });
        for (let p = 0; p < 8; p++) events.push(base('impression', p));
        events.push(base('click', clicked), base('skip', skipped));
      }
      return JSON.stringify({ events: events.slice(0, EVENTS_PER_BATCH) });
    },
  };
}

function latencyStats(values: number[]): LatencyStats {
  if (values.length === 0) return { p50Ms: Number.NaN, p90Ms: Number.NaN, p99Ms: Number.NaN, maxMs: Number.NaN };
  const sorted = Float64Array.from(values).sort();
  // Nearest rank: the smallest value with at least q of the samples at or below it.
  const at = (q: number) => round(sorted[Math.min(sorted.length - 1, Math.ceil(q * sorted.length) - 1)] as number, 2);
  return { p50Ms: at(0.5), p90Ms: at(0.9), p99Ms: at(0.99), maxMs: round(sorted[sorted.length - 1] as number, 2) };
}

function round(x: number, digits: number): number {
  const f = 10 ** digits;
  return Math.round(x * f) / f;
}
