/**
 * Rankers bench (protocol in bench/README.md, "ranking"):
 *  1. training samples/s of every ranker model in the registry on ML-1M (one epoch each, positives
 *     of the partial ratings file, no validation), with the backend that ran it;
 *  2. recommend latency of a single-stage bundle (two-tower → HNSW) against the two-stage bundle
 *     built on the same two-tower with the NeuMF ranker behind it, measured in one run, in this
 *     process, through the server's app (`app.request`), requests of the two interleaved.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { createNodeApp, silentLogger } from '@tastemaker/server';
import {
  dataPath,
  fitModel,
  getModel,
  MODEL_IDS,
  positivesTrainSet,
  readDataset,
  Rng,
  silentProgress,
  writeModelBundle,
  writeTwoStageBundle,
} from '@tastemaker/trainer';

export interface RankingBenchOptions {
  /** Which parts to run; default both. */
  sections?: readonly ('training' | 'latency')[];
  /** Data set of the latency part; default ML-1M (ML-100K trains its two bundles in about a minute). */
  latencyDataset?: 'movielens-1m' | 'movielens-100k';
  /** Sequential requests per bundle and policy after warm-up. Default 1500. */
  requests?: number;
  /** Retrieved candidates the ranker re-scores. Default 100. */
  candidates?: number;
  log?: (message: string) => void;
}

/** Ranker models the bench trains when they are registered (the CTR family may not all be there). */
const RANKERS = ['gmf', 'mlp', 'neumf', 'lr', 'poly2', 'fm', 'ffm', 'wide-deep', 'dlrm'];
/** NCF models hold out a validation positive per user by default; the throughput epoch skips it. */
const NCF = new Set(['gmf', 'mlp', 'neumf']);

interface Throughput {
  model: string;
  backend: string;
  samplesPerSecond: number;
  seconds: number;
  error?: string;
}

function round(x: number, digits = 2): number {
  const f = 10 ** digits;
  return Math.round(x * f) / f;
}

function percentiles(ms: number[]): { p50Ms: number; p90Ms: number; p99Ms: number; maxMs: number; meanMs: number } {
  const s = [...ms].sort((a, b) => a - b);
  const at = (q: number) => round(s[Math.min(s.length - 1, Math.floor(q * s.length))] ?? Number.NaN, 3);
  return { p50Ms: at(0.5), p90Ms: at(0.9), p99Ms: at(0.99), maxMs: round(s[s.length - 1] ?? Number.NaN, 3), meanMs: round(s.reduce((a, b) => a + b, 0) / Math.max(1, s.length), 3) };
}

export async function benchRanking(options: RankingBenchOptions = {}): Promise<Record<string, unknown>> {
  const log = options.log ?? (() => {});
  const requests = options.requests ?? 1500;
  const candidates = options.candidates ?? 100;
  const sections = options.sections ?? ['training', 'latency'];
  const report: Record<string, unknown> = {};
  const dataset = await readDataset('movielens-1m', dataPath('ml-1m'));
  const train = positivesTrainSet(dataset);
  const positives = train.csr.indices.length;

  // 1. Training throughput, one epoch per model.
  const throughput: Throughput[] = [];
  for (const id of sections.includes('training') ? RANKERS : []) {
    if (!(MODEL_IDS as readonly string[]).includes(id)) continue;
    log(`training ${id} for one epoch on ML-1M…`);
    const t0 = performance.now();
    try {
      const model = await fitModel(id, train, { seed: 42, epochs: 1, progress: silentProgress, ...(NCF.has(id) ? { extra: { validation: false } } : {}) });
      throughput.push({ model: id, backend: model.info.backend, samplesPerSecond: Math.round(model.info.samplesPerSecond ?? Number.NaN), seconds: round((performance.now() - t0) / 1000, 1) });
      model.dispose();
    } catch (e) {
      throughput.push({ model: id, backend: 'n/a', samplesPerSecond: Number.NaN, seconds: round((performance.now() - t0) / 1000, 1), error: e instanceof Error ? e.message : String(e) });
    }
  }
  if (sections.includes('training')) {
    report.training = { dataset: 'movielens-1m (users 1–2999, partial ratings file)', protocol: 'one epoch on every positive, seed 42, default options, no validation', positives, models: throughput };
    // Logged as soon as measured, so a later failure does not lose it.
    log(`training: ${JSON.stringify(report.training)}`);
  }
  if (!sections.includes('latency')) return report;
  if (getModel('neumf').ranker !== true) throw new Error('the latency comparison needs the neumf ranker');

  // 2. Latency: the same two-tower retrieval alone and with the NeuMF ranker behind it.
  const latencyName = options.latencyDataset ?? 'movielens-1m';
  const latencyData = latencyName === 'movielens-1m' ? dataset : await readDataset('movielens-100k', dataPath('ml-100k'));
  const latencyTrain = latencyName === 'movielens-1m' ? train : positivesTrainSet(latencyData);
  log(`training two-tower (retrieval) and one epoch of neumf (ranker) on ${latencyName}…`);
  const twoTower = await fitModel('two-tower', latencyTrain, { seed: 42, progress: silentProgress });
  const neumf = await fitModel('neumf', latencyTrain, { seed: 42, epochs: 1, progress: silentProgress, extra: { validation: false } });
  const dir = await mkdtemp(join(tmpdir(), 'tastemaker-bench-ranking-'));
  const apps: Awaited<ReturnType<typeof createNodeApp>>[] = [];
  try {
    await writeModelBundle(join(dir, 'single'), twoTower, latencyTrain);
    await writeTwoStageBundle(join(dir, 'two-stage'), { retrieval: twoTower, ranker: neumf, candidates }, latencyTrain);
    const keys = { secret: 'sk_bench', publishable: 'pk_bench' };
    const open = (name: string) =>
      // The per-user candidate cache is off: a cached user would skip retrieval and ranker alike, and
      // the comparison is of the model path every uncached request takes.
      createNodeApp({ bundle: join(dir, name), db: join(dir, `${name}.db`), keys, device: 'cpu', index: 'auto', logger: silentLogger, processMetrics: false, candidateCache: false });
    const single = await open('single');
    apps.push(single);
    const twoStage = await open('two-stage');
    apps.push(twoStage);

    const rng = new Rng(7);
    const users = latencyData.users.ids;
    const call = async (app: (typeof apps)[number]['app'], policy: string): Promise<number> => {
      const body = JSON.stringify({ userId: users[rng.int(users.length)], k: 10, policy });
      const t0 = performance.now();
      const res = await app.request('/v1/recommend', { method: 'POST', headers: { authorization: `Bearer ${keys.publishable}`, 'content-type': 'application/json' }, body });
      await res.arrayBuffer();
      const ms = performance.now() - t0;
      if (res.status !== 200) throw new Error(`recommend answered ${res.status}`);
      return ms;
    };
    const latency: Record<string, unknown> = {};
    const load = { before: round(loadavg()[0] ?? Number.NaN), after: Number.NaN };
    for (const policy of ['greedy', 'thompson']) {
      log(`latency, policy ${policy}: ${requests} requests per bundle, interleaved…`);
      for (let w = 0; w < 200; w++) {
        await call(single.app, policy);
        await call(twoStage.app, policy);
      }
      const a: number[] = [];
      const b: number[] = [];
      for (let r = 0; r < requests; r++) {
        a.push(await call(single.app, policy));
        b.push(await call(twoStage.app, policy));
      }
      const s = percentiles(a);
      const t = percentiles(b);
      latency[policy] = { singleStage: s, twoStage: t, p99Ratio: round(t.p99Ms / s.p99Ms, 3), p99WithinTwice: t.p99Ms <= 2 * s.p99Ms };
      log(`latency ${policy}: ${JSON.stringify(latency[policy])}`);
    }
    load.after = round(loadavg()[0] ?? Number.NaN);
    return {
      ...report,
      latency: {
        dataset: latencyName,
        protocol: `in-process through the server app (app.request, candidate cache off), sequential requests, k 10, random known users, ${requests} per bundle and policy after 200 warm-up, single and two-stage interleaved`,
        singleStage: 'two-tower → HNSW (index auto)',
        twoStage: `two-tower → HNSW → neumf ranker over ${candidates} candidates (one batched ranker run per request)`,
        loadAvg1m: load,
        ...latency,
      },
    };
  } finally {
    for (const app of apps) await app.close();
    twoTower.dispose();
    neumf.dispose();
    await rm(dir, { recursive: true, force: true });
  }
}
