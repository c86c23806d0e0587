/**
 * `npm run bench`: measurements that are too slow or too noisy for unit tests. Prints one JSON
 * object on stdout. Ratios (HNSW vs exact) are measured in the same run on the same machine.
 *
 *   TASTEMAKER_DATA   where the data sets are (default ../shared/data)
 *   TASTEMAKER_BENCH_BUNDLE    server section: serve this bundle instead of training one
 *   TASTEMAKER_BENCH_CPU_PROF  server section: write a .cpuprofile of the server per phase here
 *   TASTEMAKER_BENCH_SKIP_BUILD=1  server section: serve the packages as last built (it runs `npm run build` first)
 *   --only NAME       run one section: two-tower | retrieval | server | ranking | rl-online | drr-reference
 */
import { execFileSync } from 'node:child_process';
import { parseArgs } from 'node:util';
import { dataPath, evaluate, fitModel, makeSplit, readDataset, Rng, silentProgress, type TwoTowerExport } from '@tastemaker/trainer';
import { lowRankVectors, measureRetrieval } from './retrieval.js';
import { benchRanking } from './ranking.js';
import { benchServer } from './server.js';
import { runOnlineExperiment } from './rl-online.js';
import { runDrrReference } from './drr-reference.js';

const { values } = parseArgs({ options: { only: { type: 'string' } } });
const want = (name: string) => values.only === undefined || values.only === name;
const log = (m: string) => process.stderr.write(`[bench] ${m}\n`);
const report: Record<string, unknown> = { node: process.version, cpus: (await import('node:os')).cpus().length, startedAt: new Date().toISOString() };

if (want('two-tower')) {
  // Protocol: ML-100K, ratio-75 split with seed 42; the model trains on the 75 % part.
  const dataset = await readDataset('movielens-100k', dataPath('ml-100k'));
  const split = await makeSplit(dataset, 'ratio-75', { seed: 42 });
  log('training two-tower on ML-100K (ratio-75 train part)…');
  const t0 = performance.now();
  const model = await fitModel('two-tower', split.train, { seed: 42, progress: silentProgress, log });
  const trainSeconds = (performance.now() - t0) / 1000;
  const metrics = await evaluate(model, split, { k: 10 });
  const spec = model.exportSpec() as TwoTowerExport;
  const users = Int32Array.from({ length: spec.nUsers }, (_, u) => u);
  const histories = Array.from({ length: spec.nUsers }, (_, u) => split.train.csr.indices.subarray(split.train.csr.indptr[u], split.train.csr.indptr[u + 1]));
  const userVectors = await model.embedUsers!(users, histories);
  log('HNSW vs exact on the two-tower item vectors…');
  const retrieval = await measureRetrieval(spec.itemVectors, spec.dim, userVectors);
  report.twoTower = {
    dataset: 'movielens-100k',
    protocol: 'ratio-75',
    backend: model.info.backend,
    samplesPerSecond: Math.round(model.info.samplesPerSecond ?? Number.NaN),
    epochs: model.info.epochs,
    trainSeconds: Math.round(trainSeconds * 10) / 10,
    ndcgAt10: metrics['ndcg@10'],
    retrieval,
  };
  model.dispose();
}

if (want('retrieval')) {
  // 50 k low-rank 64-d vectors (the DESIGN measurement), 500 queries drawn from the same distribution.
  const rng = new Rng(42);
  const dim = 64;
  const items = lowRankVectors(rng, 50_000, dim);
  const queries = lowRankVectors(new Rng(7), 500, dim);
  log('HNSW vs exact on 50k low-rank vectors…');
  report.retrieval50k = await measureRetrieval(items, dim, queries);
}

if (want('server')) {
  // autocannon against a forked server with the ML-100K two-tower bundle; protocol in bench/README.md.
  // It serves the built packages, as `tastemaker serve` does, so they are built from this checkout first.
  if (process.env.TASTEMAKER_BENCH_SKIP_BUILD !== '1') {
    log('npm run build (the server section serves the built packages)…');
    execFileSync('npm', ['run', 'build'], { stdio: ['ignore', 2, 2] });
  }
  report.server = await benchServer({
    bundle: process.env.TASTEMAKER_BENCH_BUNDLE || undefined,
    cpuProfileDir: process.env.TASTEMAKER_BENCH_CPU_PROF || undefined,
    log,
  });
}

if (want('ranking')) {
  // Ranker training throughput on ML-1M and single- vs two-stage recommend latency; bench/README.md.
  // TASTEMAKER_BENCH_RANKING_SECTIONS=training|latency runs one part; TASTEMAKER_BENCH_RANKING_LATENCY_DATA=ml-100k
  // measures latency on ML-100K bundles (about a minute of training instead of many on ML-1M).
  const sections = process.env.TASTEMAKER_BENCH_RANKING_SECTIONS?.split(',') as ('training' | 'latency')[] | undefined;
  const latencyDataset = process.env.TASTEMAKER_BENCH_RANKING_LATENCY_DATA === 'ml-100k' ? 'movielens-100k' : 'movielens-1m';
  report.ranking = await benchRanking({ log, latencyDataset, ...(sections ? { sections } : {}) });
}

if (want('rl-online')) {
  // A served DRR policy learning from /v1/events on ML-100K (drr-users split, PMF simulator); bench/README.md.
  const dataset = await readDataset('movielens-100k', dataPath('ml-100k'));
  report.rlOnline = await runOnlineExperiment({ dataset, model: 'drr-ave', seed: 42, rounds: 5, k: 10, candidatePool: 200, epsilon: 0.1, log });
}

if (want('drr-reference')) {
  // drr-users leak-free vs the DRR re-implementation's leaky evaluation, same models, one run; bench/README.md.
  const dataset = await readDataset('movielens-1m', dataPath('ml-1m'));
  report.drrReference = await runDrrReference({ dataset, seed: 42, log });
}

process.stdout.write(`${JSON.stringify(report, null, 2)}\n`);
