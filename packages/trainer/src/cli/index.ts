import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { createRecommender, isTastemakerError, TastemakerError } from '@tastemaker/core';
import { DATA_FORMATS, parseColumnRef, readDataset, type ReadDatasetOptions } from '../data/index.js';
import { positivesTrainSet } from '../models/train-set.js';
import { PROTOCOL_IDS, evaluate, makeSplit, type ProtocolId } from '../eval/index.js';
import { writeModelBundle, writeTwoStageBundle } from '../export/index.js';
import { fitModel, getModel, MODEL_IDS } from '../models/index.js';
import type { FitOptions, ModelId } from '../models/types.js';
import { syntheticDataset } from '../synthetic/index.js';
import { optionalNumber, parseFlags, parseSets, requireString, type Flags } from './args.js';
import { createStderrProgress } from './progress.js';
import { DEFAULT_HOME, ensureDefaultBundle, loadServer } from './serve.js';

const USAGE = `tastemaker — train, evaluate and serve recommendation models

Usage:
  tastemaker train     --data PATH --format F --model M --out DIR [model flags]
                       [--retrieval R --candidates N]  two-stage bundle: R retrieves N candidates, M ranks them
                       [--kg]  add the item knowledge graph (built from item metadata when the data has none)
                               for KG candidates and explanations; automatic for KG data and KG models
  tastemaker evaluate  --data PATH --format F --model M --protocol P [--k 10] [--seed 42] [--out DIR] [--json] [model flags]
  tastemaker recommend --bundle DIR (--user ID | --history ID,ID,…) [--k 10] [--device auto|cpu|cuda] [--json]
  tastemaker serve     [--bundle DIR] [--port 8080] [--host H] [--db FILE] [--models-dir DIR] [--device D]
                       without --bundle: serves a bundle trained on a generated data set, kept in ${DEFAULT_HOME}/
  tastemaker demo      [--model M] [--out DIR]     train on a generated data set and print recommendations
  tastemaker simulate  --data PATH --format F [--policies drr-ave,dqn,reinforce,linucb,mf-greedy,popularity,random] [--steps 20] [--seed 42] [--curves FILE.svg] [--json]
                       cumulative reward per policy on an MF simulator of the drr-users held-out users

Formats:   ${DATA_FORMATS.join(', ')}
Models:    ${MODEL_IDS.join(', ')}
Protocols: ${PROTOCOL_IDS.join(', ')}

Data flags (csv/tsv/jsonl): --user-col C --item-col C [--value-col C] [--time-col C] [--delimiter D] [--no-header]
             (C is a header name or a 0-based column index)
Model flags: --epochs N --dim N --seed N --lr X --batch-size N --l2 X --neighbors N --backend NAME
             --min-value X (interactions below X are not positives) --set key=value (model-specific)
`;

const MODEL_FLAGS = {
  epochs: { type: 'string' },
  dim: { type: 'string' },
  seed: { type: 'string' },
  lr: { type: 'string' },
  'batch-size': { type: 'string' },
  l2: { type: 'string' },
  neighbors: { type: 'string' },
  backend: { type: 'string' },
  'min-value': { type: 'string' },
  set: { type: 'string', multiple: true },
  quiet: { type: 'boolean' },
} as const;

function checkChoice<T extends string>(name: string, value: string, valid: readonly T[]): T {
  if (!(valid as readonly string[]).includes(value)) {
    throw new TastemakerError('INVALID_ARGUMENT', `Unknown ${name} ${JSON.stringify(value)}. Valid: ${valid.join(', ')}.`);
  }
  return value as T;
}

function fitOptions(flags: Flags): FitOptions {
  const opts: FitOptions = {
    seed: optionalNumber(flags, 'seed', { integer: true }) ?? 42,
    progress: createStderrProgress(flags.quiet === true ? false : undefined),
    log: flags.quiet === true ? () => {} : (m) => process.stderr.write(`${m}\n`),
    extra: parseSets(flags.set as string[] | undefined),
  };
  const set = <K extends keyof FitOptions>(key: K, value: FitOptions[K] | undefined) => {
    if (value !== undefined) opts[key] = value;
  };
  set('epochs', optionalNumber(flags, 'epochs', { integer: true, min: 1 }));
  set('dim', optionalNumber(flags, 'dim', { integer: true, min: 1 }));
  set('learningRate', optionalNumber(flags, 'lr', { min: 0 }));
  set('batchSize', optionalNumber(flags, 'batch-size', { integer: true, min: 1 }));
  set('l2', optionalNumber(flags, 'l2', { min: 0 }));
  set('neighbors', optionalNumber(flags, 'neighbors', { integer: true, min: 1 }));
  if (typeof flags.backend === 'string') opts.backend = flags.backend;
  return opts;
}

const DATA_FLAGS = {
  data: { type: 'string' },
  format: { type: 'string' },
  'user-col': { type: 'string' },
  'item-col': { type: 'string' },
  'value-col': { type: 'string' },
  'time-col': { type: 'string' },
  delimiter: { type: 'string' },
  'no-header': { type: 'boolean' },
} as const;

async function loadData(flags: Flags) {
  const format = checkChoice('format', requireString(flags, 'format'), DATA_FORMATS);
  const col = (name: string) => (typeof flags[name] === 'string' ? parseColumnRef(flags[name]) : undefined);
  const user = col('user-col');
  const item = col('item-col');
  const value = col('value-col');
  const timestamp = col('time-col');
  const options: ReadDatasetOptions = {};
  if (user !== undefined || item !== undefined) {
    if (user === undefined || item === undefined) throw new TastemakerError('INVALID_ARGUMENT', 'Give both --user-col and --item-col.');
    options.columns = { user, item, ...(value !== undefined ? { value } : {}), ...(timestamp !== undefined ? { timestamp } : {}) };
  }
  if (typeof flags.delimiter === 'string') options.delimiter = flags.delimiter === '\\t' ? '\t' : flags.delimiter;
  if (flags['no-header'] === true) options.hasHeader = false;
  return readDataset(format, requireString(flags, 'data'), options);
}

/** Models that can be the first (retrieval) stage of a two-stage bundle. */
const RETRIEVAL_MODELS = ['two-tower', 'item-knn', 'popularity', 'bpr', 'ease'] as const;

/** Retrieved candidates a two-stage bundle's ranker re-scores per request, unless --candidates says otherwise. */
const DEFAULT_CANDIDATES = 100;

async function cmdTrain(argv: string[]): Promise<number> {
  const flags = parseFlags(argv, {
    ...DATA_FLAGS,
    model: { type: 'string' },
    out: { type: 'string' },
    retrieval: { type: 'string' },
    candidates: { type: 'string' },
    kg: { type: 'boolean' },
    ...MODEL_FLAGS,
  });
  const model = checkChoice('model', requireString(flags, 'model'), MODEL_IDS);
  const out = requireString(flags, 'out');
  const retrieval = typeof flags.retrieval === 'string' ? checkChoice('retrieval', flags.retrieval, RETRIEVAL_MODELS) : undefined;
  const candidates = optionalNumber(flags, 'candidates', { integer: true, min: 1 }) ?? DEFAULT_CANDIDATES;
  const isRanker = getModel(model).ranker === true;
  // Checked before any training: a ranker alone has no retrieval graph, a retrieval model no ranker.
  if (isRanker && retrieval === undefined) {
    throw new TastemakerError('INVALID_ARGUMENT', `${model} is a ranker and serves behind a retrieval stage: add --retrieval ${RETRIEVAL_MODELS.join('|')}.`);
  }
  if (!isRanker && retrieval !== undefined) {
    throw new TastemakerError('INVALID_ARGUMENT', `--retrieval pairs a ranker with a retrieval model, but ${model} is not a ranker.`);
  }
  const dataset = await loadData(flags);
  const train = positivesTrainSet(dataset, optionalNumber(flags, 'min-value'));
  const opts = fitOptions(flags);
  const t0 = performance.now();
  const fitted = await fitModel(model, train, opts);
  try {
    if (retrieval === undefined) {
      await writeModelBundle(out, fitted, train, flags.kg === true ? { kg: true } : {});
    } else {
      // The model flags tune the ranker; the retrieval model trains with its defaults.
      const first = await fitModel(retrieval, train, { seed: opts.seed, ...(opts.backend ? { backend: opts.backend } : {}), ...(opts.progress ? { progress: opts.progress } : {}), ...(opts.log ? { log: opts.log } : {}) });
      try {
        await writeTwoStageBundle(out, { retrieval: first, ranker: fitted, candidates }, train, flags.kg === true ? { kg: true } : {});
      } finally {
        first.dispose();
      }
    }
  } finally {
    fitted.dispose();
  }
  const trainSeconds = (performance.now() - t0) / 1000;
  const what = retrieval === undefined ? model : `${retrieval} → ${model} (${candidates} candidates)`;
  opts.log?.(`trained ${what} on ${dataset.name} in ${trainSeconds.toFixed(1)} s (backend ${fitted.info.backend}); bundle written to ${out}`);
  return 0;
}

async function cmdEvaluate(argv: string[]): Promise<number> {
  const flags = parseFlags(argv, {
    ...DATA_FLAGS,
    model: { type: 'string' },
    protocol: { type: 'string' },
    k: { type: 'string' },
    out: { type: 'string' },
    json: { type: 'boolean' },
    ...MODEL_FLAGS,
  });
  const model = checkChoice('model', requireString(flags, 'model'), MODEL_IDS);
  const protocol = checkChoice('protocol', requireString(flags, 'protocol'), PROTOCOL_IDS) as ProtocolId;
  if (typeof flags.out === 'string' && getModel(model).ranker === true) {
    throw new TastemakerError('INVALID_ARGUMENT', `${model} is a ranker; write its two-stage bundle with tastemaker train --retrieval, not evaluate --out.`);
  }
  const k = optionalNumber(flags, 'k', { integer: true, min: 1 }) ?? 10;
  const opts = fitOptions(flags);
  const dataset = await loadData(flags);
  const split = await makeSplit(dataset, protocol, { seed: opts.seed });
  for (const note of split.notes) opts.log?.(`note: ${note}`);
  const t0 = performance.now();
  const fitted = await fitModel(model, split.train, opts);
  const trainSeconds = (performance.now() - t0) / 1000;
  try {
    const t1 = performance.now();
    const metrics = await evaluate(fitted, split, { k, ...(opts.progress ? { progress: opts.progress } : {}) });
    const evalSeconds = (performance.now() - t1) / 1000;
    if (typeof flags.out === 'string') {
      await writeModelBundle(flags.out, fitted, split.train, { metrics });
    }
    const result = {
      model,
      dataset: dataset.name,
      protocol,
      metrics: roundAll(metrics),
      trainSeconds: round(trainSeconds),
      evalSeconds: round(evalSeconds),
      backend: fitted.info.backend,
      seed: opts.seed,
      ...(fitted.info.samplesPerSecond !== undefined ? { samplesPerSecond: Math.round(fitted.info.samplesPerSecond) } : {}),
    };
    if (flags.json === true) {
      process.stdout.write(`${JSON.stringify(result)}\n`);
    } else {
      process.stdout.write(`${model} on ${dataset.name} (${protocol}, seed ${opts.seed}), trained in ${result.trainSeconds} s on ${result.backend}\n`);
      for (const [key, v] of Object.entries(result.metrics)) process.stdout.write(`  ${key.padEnd(14)} ${v}\n`);
    }
  } finally {
    fitted.dispose();
  }
  return 0;
}

async function cmdRecommend(argv: string[]): Promise<number> {
  const flags = parseFlags(argv, {
    bundle: { type: 'string' },
    user: { type: 'string' },
    history: { type: 'string' },
    k: { type: 'string' },
    device: { type: 'string' },
    json: { type: 'boolean' },
  });
  const k = optionalNumber(flags, 'k', { integer: true, min: 1 }) ?? 10;
  const userId = typeof flags.user === 'string' ? flags.user : undefined;
  const history = typeof flags.history === 'string' ? flags.history.split(',').filter(Boolean) : undefined;
  if (userId === undefined && history === undefined) throw new TastemakerError('INVALID_ARGUMENT', 'Give --user ID or --history ID,ID,….');
  const rec = await createRecommender({ bundle: requireString(flags, 'bundle'), device: typeof flags.device === 'string' ? flags.device : 'auto' });
  try {
    const res = await rec.recommend({ ...(userId !== undefined ? { userId } : {}), ...(history ? { history } : {}), k });
    if (flags.json === true) process.stdout.write(`${JSON.stringify(res)}\n`);
    else res.items.forEach((it, i) => process.stdout.write(`${String(i + 1).padStart(3)}. ${it.itemId}  ${it.score.toFixed(4)}${it.explanation ? `  (${it.explanation.text})` : ''}\n`));
  } finally {
    await rec.dispose();
  }
  return 0;
}

async function cmdDemo(argv: string[]): Promise<number> {
  const flags = parseFlags(argv, { model: { type: 'string' }, out: { type: 'string' }, ...MODEL_FLAGS });
  const model = checkChoice('model', typeof flags.model === 'string' ? flags.model : 'two-tower', MODEL_IDS) as ModelId;
  const opts = fitOptions(flags);
  const dataset = syntheticDataset({ seed: opts.seed });
  const train = positivesTrainSet(dataset);
  const tmp = typeof flags.out === 'string' ? undefined : await mkdtemp(path.join(os.tmpdir(), 'tastemaker-demo-'));
  const out = typeof flags.out === 'string' ? flags.out : path.join(tmp!, 'bundle');
  try {
    process.stdout.write(`Generated ${dataset.users.size} users × ${dataset.items.size} items, ${dataset.interactions.user.length} interactions.\n`);
    const t0 = performance.now();
    const fitted = await fitModel(model, train, opts);
    process.stdout.write(`Trained ${model} in ${((performance.now() - t0) / 1000).toFixed(1)} s (backend ${fitted.info.backend}).\n`);
    try {
      await writeModelBundle(out, fitted, train);
    } finally {
      fitted.dispose();
    }
    const rec = await createRecommender({ bundle: out, device: 'cpu' });
    try {
      for (const userId of dataset.users.ids.slice(0, 3)) {
        const res = await rec.recommend({ userId, k: 5 });
        const titles = res.items.map((it) => `${it.itemId} (${dataset.itemTitles?.[dataset.items.get(it.itemId) ?? -1] ?? '?'})`);
        process.stdout.write(`${userId}: ${titles.join(', ')}\n`);
      }
    } finally {
      await rec.dispose();
    }
    if (!tmp) process.stdout.write(`Bundle: ${out}\n`);
  } finally {
    if (tmp) await rm(tmp, { recursive: true, force: true });
  }
  return 0;
}

async function cmdSimulate(argv: string[]): Promise<number> {
  const flags = parseFlags(argv, { ...DATA_FLAGS, policies: { type: 'string' }, steps: { type: 'string' }, noise: { type: 'string' }, curves: { type: 'string' }, json: { type: 'boolean' }, ...MODEL_FLAGS });
  const { simulate } = await import('../rl/simulate.js');
  const opts = fitOptions(flags);
  const dataset = await loadData(flags);
  const policies = (typeof flags.policies === 'string' ? flags.policies : 'drr-ave,mf-greedy,popularity,random').split(',').filter(Boolean);
  const { seed, ...fit } = opts;
  const noise = optionalNumber(flags, 'noise', { min: 0 });
  const result = await simulate(dataset, {
    policies,
    steps: optionalNumber(flags, 'steps', { integer: true, min: 1 }) ?? 20,
    seed,
    ...(noise !== undefined ? { noise } : {}),
    fit,
    factory: getModel,
  });
  if (typeof flags.curves === 'string') {
    const { curvesSvg } = await import('../rl/curves/index.js');
    await writeFile(flags.curves, curvesSvg(result.curves, `Learning curves: ${result.dataset}, seed ${result.seed}`));
  }
  if (flags.json === true) process.stdout.write(`${JSON.stringify(result)}\n`);
  else {
    if (typeof flags.curves === 'string') process.stdout.write(`learning curves of ${result.curves.map((c) => c.policy).join(', ') || 'no trained RL policy'} → ${flags.curves}\n`);
    process.stdout.write(`${result.users} held-out users of ${result.dataset}, ${result.steps} steps, seed ${result.seed}\n`);
    for (const [id, r] of Object.entries(result.policies)) process.stdout.write(`  ${id.padEnd(12)} ${r.meanReturn.toFixed(3)}  (liked ${(100 * r.positiveRate).toFixed(1)} % of steps)\n`);
  }
  return 0;
}

async function cmdServe(argv: string[]): Promise<number> {
  const flags = parseFlags(argv, {
    bundle: { type: 'string' },
    port: { type: 'string' },
    host: { type: 'string' },
    db: { type: 'string' },
    'models-dir': { type: 'string' },
    device: { type: 'string' },
    home: { type: 'string' },
    seed: { type: 'string' },
    quiet: { type: 'boolean' },
  });
  const port = optionalNumber(flags, 'port', { integer: true, min: 0 }) ?? 8080;
  const home = typeof flags.home === 'string' ? flags.home : DEFAULT_HOME;
  const server = await loadServer();
  const bundle = typeof flags.bundle === 'string' ? flags.bundle : await ensureDefaultBundle(home, fitOptions(flags));
  const running = await server.startServer({
    bundle,
    db: typeof flags.db === 'string' ? flags.db : path.join(home, 'tastemaker.db'),
    port,
    ...(typeof flags.host === 'string' ? { host: flags.host } : {}),
    ...(typeof flags['models-dir'] === 'string' ? { modelsDir: flags['models-dir'] } : {}),
    ...(typeof flags.device === 'string' ? { device: flags.device } : {}),
  });
  process.stderr.write(`serving ${bundle} at ${running.url}  (try: curl '${running.url}/v1/recommend?userId=user-0001&k=5')\n`);
  await new Promise<void>((resolve) => {
    const stop = () => {
      process.off('SIGINT', stop);
      process.off('SIGTERM', stop);
      resolve();
    };
    process.on('SIGINT', stop);
    process.on('SIGTERM', stop);
  });
  await running.close();
  return 0;
}

const round = (x: number) => Math.round(x * 1e4) / 1e4;
const roundAll = (m: Record<string, number>) => Object.fromEntries(Object.entries(m).map(([k, v]) => [k, round(v)]));

const COMMANDS: Record<string, (argv: string[]) => Promise<number>> = {
  train: cmdTrain,
  evaluate: cmdEvaluate,
  recommend: cmdRecommend,
  serve: cmdServe,
  demo: cmdDemo,
  simulate: cmdSimulate,
};

/** Entry point of the `tastemaker` bin; returns the exit code. */
export async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  if (command === undefined || command === 'help' || command === '--help' || command === '-h') {
    process.stdout.write(USAGE);
    return command === undefined ? 2 : 0;
  }
  const run = COMMANDS[command];
  if (!run) {
    process.stderr.write(`tastemaker: unknown command ${JSON.stringify(command)}. Commands: ${Object.keys(COMMANDS).join(', ')}.\n`);
    return 2;
  }
  try {
    return await run(rest);
  } catch (e) {
    if (isTastemakerError(e)) {
      process.stderr.write(`tastemaker: ${e.message}\n`);
      return e.code === 'INVALID_ARGUMENT' || e.code === 'INVALID_CONFIG' ? 2 : 1;
    }
    throw e;
  }
}
