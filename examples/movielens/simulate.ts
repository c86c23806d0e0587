/**
 * npx tsx examples/movielens/simulate.ts [--data DIR] [--rounds N] [--users N] [--k N] [--seed N]
 *   [--model bpr|two-tower] [--epochs N] [--policies a,b,…] [--reshow] [--json]
 *
 * Trains on ML-100K, serves the bundle with the Tastemaker server and plays held-out users against
 * each policy; prints CTR by policy (a table, or one JSON object with --json). Progress goes to stderr.
 */
import { parseArgs } from 'node:util';
import { dataPath } from '@tastemaker/trainer';
import { formatTable, POLICY_NAMES, runSimulation, SIMULATION_MODELS, type PolicyName, type SimulationModel } from './simulation.js';

const { values } = parseArgs({
  options: {
    data: { type: 'string' },
    rounds: { type: 'string', default: '10' },
    users: { type: 'string' },
    k: { type: 'string', default: '10' },
    seed: { type: 'string', default: '42' },
    model: { type: 'string', default: 'bpr' },
    epochs: { type: 'string' },
    policies: { type: 'string' },
    reshow: { type: 'boolean', default: false },
    json: { type: 'boolean', default: false },
    help: { type: 'boolean', default: false },
  },
});

if (values.help) {
  process.stdout.write(
    [
      'Usage: npx tsx examples/movielens/simulate.ts [options]',
      '  --data DIR         ML-100K directory (default $TASTEMAKER_DATA/ml-100k or ../shared/data/ml-100k)',
      '  --rounds N         visits per user (default 10)',
      '  --users N          play a seeded sample of N held-out users (default all)',
      '  --k N              slate size (default 10)',
      '  --seed N           split, training, user order and policy randomness (default 42)',
      `  --model M          ${SIMULATION_MODELS.join(' | ')} (default bpr)`,
      '  --epochs N         training epochs (default: the model’s)',
      `  --policies LIST    comma-separated subset of ${POLICY_NAMES.join(',')}`,
      '  --reshow           let the server show a user items they already ignored (default: the client excludes them)',
      '  --json             one JSON object on stdout instead of the table',
      '',
    ].join('\n'),
  );
  process.exit(0);
}

function int(name: string, raw: string | undefined): number | undefined {
  if (raw === undefined) return undefined;
  const n = Number(raw);
  if (!Number.isInteger(n)) throw new RangeError(`--${name} must be an integer, got ${JSON.stringify(raw)}`);
  return n;
}

const model = values.model as string;
if (!(SIMULATION_MODELS as readonly string[]).includes(model)) throw new RangeError(`--model must be one of ${SIMULATION_MODELS.join(', ')}`);
const policies = values.policies?.split(',').map((p) => p.trim());
for (const p of policies ?? []) {
  if (!(POLICY_NAMES as readonly string[]).includes(p)) throw new RangeError(`--policies: unknown policy ${JSON.stringify(p)}; valid: ${POLICY_NAMES.join(', ')}`);
}

const users = int('users', values.users);
const epochs = int('epochs', values.epochs);
const result = await runSimulation({
  dataDir: values.data ?? dataPath('ml-100k'),
  rounds: int('rounds', values.rounds) ?? 10,
  k: int('k', values.k) ?? 10,
  seed: int('seed', values.seed) ?? 42,
  model: model as SimulationModel,
  reshow: values.reshow,
  ...(users !== undefined ? { users } : {}),
  ...(epochs !== undefined ? { epochs } : {}),
  ...(policies !== undefined ? { policies: policies as PolicyName[] } : {}),
  log: (m) => process.stderr.write(`[movielens] ${m}\n`),
});

process.stdout.write(values.json ? `${JSON.stringify(result, null, 2)}\n` : `${formatTable(result)}\n`);
