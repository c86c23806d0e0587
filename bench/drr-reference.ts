/**
 * drr-users against the DRR re-implementation's published P@10 0.444 / NDCG@10 0.429, like for like.
 *
 * The re-implementation (backgom2357/Recommender_system_via_deep_RL) evaluated with user and item
 * embeddings pre-trained on every rating of every user, the held-out users' futures included, and a
 * state of each held-out user's first 10 rated items. `drrUsersReference` (eval/drr-users.ts)
 * rebuilds that evaluation; this bench scores the same models under it and under our leak-free
 * `drr-users`, in one run:
 *
 * - popularity, bpr, mf-greedy: fitted on the leak-free train part, and on every rating (reference);
 * - drr-n/p/u/ave: RL episodes on the leak-free train part both times (the re-implementation's
 *   episodes ran on its train users only); the embeddings come from the train part, or from every
 *   rating (reference). Under the reference the actor reads the reference's state (first 10 rated
 *   items, oldest first).
 *
 *   node --import tsx bench/drr-reference.ts --data ../shared/data/ml-1m --format movielens-1m [--models a,b] [--seed 42]
 */
import { parseArgs } from 'node:util';
import type { Dataset } from '../packages/trainer/src/data/dataset.js';
import { readDataset } from '../packages/trainer/src/data/index.js';
import { drrUsersReference, drrUsersSplit } from '../packages/trainer/src/eval/drr-users.js';
import { evaluate } from '../packages/trainer/src/eval/evaluate.js';
import type { Split } from '../packages/trainer/src/eval/protocols.js';
import { fitModel } from '../packages/trainer/src/models/index.js';
import type { TrainedModel } from '../packages/trainer/src/models/types.js';
import { fitDrr, STATE_MODULES, type StateModuleKind } from '../packages/trainer/src/rl/index.js';

export const DRR_REFERENCE_MODELS = ['popularity', 'bpr', 'mf-greedy', ...STATE_MODULES] as const;

export interface DrrReferenceOptions {
  dataset: Dataset;
  seed: number;
  models?: readonly string[];
  log?: (line: string) => void;
}

export interface DrrReferenceRow {
  model: string;
  /** our leak-free drr-users */
  leakFree: Metrics;
  /** the re-implementation's evaluation, leak included */
  reference: Metrics;
  trainSeconds: { leakFree: number; reference: number };
}

type Metrics = Record<'precision@5' | 'precision@10' | 'ndcg@5' | 'ndcg@10', number>;

const isDrr = (id: string): id is StateModuleKind => (STATE_MODULES as readonly string[]).includes(id);

function pick(m: Record<string, number>): Metrics {
  const r = (x: number | undefined): number => Math.round((x ?? Number.NaN) * 1e4) / 1e4;
  return { 'precision@5': r(m['precision@5']), 'precision@10': r(m['precision@10']), 'ndcg@5': r(m['ndcg@5']), 'ndcg@10': r(m['ndcg@10']) };
}

export async function runDrrReference(options: DrrReferenceOptions) {
  const { dataset, seed } = options;
  const log = options.log ?? (() => {});
  const models = options.models ?? DRR_REFERENCE_MODELS;
  const split = drrUsersSplit(dataset);
  const ref = drrUsersReference(dataset);
  const refSplit: Split = { protocol: 'drr-users', train: ref.full, test: ref.test, reportK: [5, 10], notes: ref.notes };
  const stateRow = new Map<number, number>();
  ref.test.users.forEach((u, t) => stateRow.set(u, t));
  // the actor reads the reference's state of each scored user instead of its own training positives
  const withReferenceState = (drr: Awaited<ReturnType<typeof fitDrr>>): TrainedModel => ({
    id: drr.id,
    nUsers: drr.nUsers,
    nItems: drr.nItems,
    info: drr.info,
    scoreBatch: async (users) => {
      const n = ref.stateSize;
      const states = new Int32Array(users.length * n);
      users.forEach((u, b) => {
        const t = stateRow.get(u);
        if (t === undefined) throw new Error(`user ${u} is not a reference test user`);
        states.set(ref.states.subarray(t * n, (t + 1) * n), b * n);
      });
      return drr.scoreStates(users, states);
    },
    exportSpec: () => drr.exportSpec(),
    dispose: () => drr.dispose(),
  });
  const rows: DrrReferenceRow[] = [];
  for (const id of models) {
    let t0 = performance.now();
    const free = await fitModel(id, split.train, { seed });
    const freeSeconds = (performance.now() - t0) / 1000;
    const leakFree = pick(await evaluate(free, split));
    free.dispose();
    t0 = performance.now();
    const leaky = isDrr(id) ? withReferenceState(await fitDrr(id, split.train, { seed }, ref.full)) : await fitModel(id, ref.full, { seed });
    const refSeconds = (performance.now() - t0) / 1000;
    const reference = pick(await evaluate(leaky, refSplit));
    leaky.dispose();
    const row = { model: id, leakFree, reference, trainSeconds: { leakFree: Math.round(freeSeconds), reference: Math.round(refSeconds) } };
    log(JSON.stringify(row));
    rows.push(row);
  }
  const fewRelevant = ref.test.relevant.filter((r) => r.length < 10).length;
  return {
    dataset: dataset.name,
    seed,
    testUsers: { leakFree: split.test.kind === 'ranking' ? split.test.users.length : 0, reference: ref.test.users.length },
    // ndcg@10 divides by min(|relevant|, 10) hits; the re-implementation by 10 hits: they differ only for these users
    referenceUsersWithFewerThan10Relevant: fewRelevant,
    published: { 'precision@10': 0.444, 'ndcg@10': 0.429, 'precision@5': 0.479, 'ndcg@5': 0.471, data: 'full ML-1M (6,040 users)' },
    rows,
    notes: [...split.notes, ...ref.notes],
  };
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const { values } = parseArgs({ options: { data: { type: 'string' }, format: { type: 'string' }, models: { type: 'string' }, seed: { type: 'string', default: '42' } } });
  if (!values.data || !values.format) throw new Error('usage: bench/drr-reference.ts --data DIR --format FORMAT [--models a,b] [--seed 42]');
  const dataset = await readDataset(values.format, values.data);
  const result = await runDrrReference({
    dataset,
    seed: Number(values.seed),
    ...(values.models ? { models: values.models.split(',') } : {}),
    log: (line) => process.stderr.write(`${line}\n`),
  });
  process.stdout.write(`${JSON.stringify(result, null, 2)}\n`);
}
