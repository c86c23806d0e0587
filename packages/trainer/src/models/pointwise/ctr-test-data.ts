/**
 * Test data for the CTR models (not exported from the package): ratings with a planted rule that
 * only side features explain. Users are "gender:F" or "gender:M" (plus an age bucket that carries no
 * signal); items are "genre:A", "genre:B" or both, with MovieLens-style "(YYYY)" titles. A rating is
 * high (≥ 4) mostly when the user's gender matches the item's genre, so ids alone learn the rule
 * only per user and item, while a model with side features gets it from the fields.
 */
import { IdMap, type Dataset } from '../../data/dataset.js';
import { Rng } from '../../engine/rng.js';
import { evaluate } from '../../eval/evaluate.js';
import { makeSplit, type Split } from '../../eval/protocols.js';
import { rankerParity } from '../../export/ranker-parity.js';
import type { FitOptions, ModelFactory, TrainedModel } from '../types.js';

export function plantedCtrDataset(seed = 1, users = 60, items = 40, perUser = 16): Dataset {
  const rng = new Rng(seed);
  const genderF = Array.from({ length: users }, () => rng.next() < 0.5);
  const age = Array.from({ length: users }, () => rng.int(3));
  const genre = Array.from({ length: items }, () => rng.int(3)); // 0 = A, 1 = B, 2 = both
  const u: number[] = [];
  const it: number[] = [];
  const value: number[] = [];
  for (let user = 0; user < users; user++) {
    const order = Array.from({ length: items }, (_, i) => i);
    rng.shuffle(order);
    for (let k = 0; k < perUser; k++) {
      const i = order[k] as number;
      const g = genre[i] as number;
      const match = g === 2 || (g === 0) === genderF[user];
      const liked = rng.next() < (match ? 0.9 : 0.1);
      u.push(user);
      it.push(i);
      value.push(liked ? 4 + rng.int(2) : 1 + rng.int(3));
    }
  }
  const userNames = ['age:young', 'age:mid', 'age:old', 'gender:F', 'gender:M'];
  const userValues = new Float32Array(users * userNames.length);
  for (let user = 0; user < users; user++) {
    userValues[user * 5 + (age[user] as number)] = 1;
    userValues[user * 5 + (genderF[user] ? 3 : 4)] = 1;
  }
  const itemValues = new Float32Array(items * 2);
  for (let i = 0; i < items; i++) {
    const g = genre[i] as number;
    if (g !== 1) itemValues[i * 2] = 1;
    if (g !== 0) itemValues[i * 2 + 1] = 1;
  }
  return {
    name: 'planted-ctr',
    users: IdMap.from(Array.from({ length: users }, (_, k) => `u${k}`)),
    items: IdMap.from(Array.from({ length: items }, (_, k) => `i${k}`)),
    interactions: { user: Int32Array.from(u), item: Int32Array.from(it), value: Float32Array.from(value), timestamp: new Float64Array(u.length) },
    userFeatures: { names: userNames, values: userValues },
    itemFeatures: { names: ['genre:A', 'genre:B'], values: itemValues },
    itemTitles: Array.from({ length: items }, (_, i) => `Item ${i} (${1990 + (i % 8)})`),
  };
}

export function plantedCtrSplit(seed = 1, perUser = 16): Promise<Split> {
  return makeSplit(plantedCtrDataset(seed, 60, 40, perUser), 'ctr-auc', { seed: 42 });
}

/** What each CTR model test checks, computed once per model. */
export interface CtrModelCheck {
  /** test AUC and log loss on the planted split */
  metrics: Record<string, number>;
  /** worst scaled |onnx − trainer| per runtime on the exporter's probe pairs */
  parity: Record<string, number>;
  /** max |scoreBatch row − scorePairs| for a few users, the unknown user included */
  batchVsPairs: number;
  info: TrainedModel['info'];
}

/** Fits `factory` on the planted split (`perUser` ratings per user) and checks it. */
export async function checkCtrModel(factory: ModelFactory, options: FitOptions, perUser = 16): Promise<CtrModelCheck> {
  const split = await plantedCtrSplit(1, perUser);
  const model = await factory.fit(split.train, options);
  try {
    const metrics = await evaluate(model, split);
    const spec = model.exportSpec();
    if (spec.kind !== 'ranker') throw new Error(`expected a ranker export, got ${spec.kind}`);
    const result = await rankerParity(spec);
    const parity = Object.fromEntries(Object.entries(result.runtimes).map(([k, v]) => [k, v.maxError]));
    const users = Int32Array.of(0, 5, -1);
    const all = await model.scoreBatch(users, [new Int32Array(0), new Int32Array(0), new Int32Array(0)]);
    let batchVsPairs = 0;
    users.forEach((u, b) => {
      const items = Int32Array.from({ length: model.nItems }, (_, i) => i);
      const pairs = spec.scorePairs(new Int32Array(model.nItems).fill(u < 0 ? model.nUsers : u), items);
      for (let i = 0; i < model.nItems; i++) batchVsPairs = Math.max(batchVsPairs, Math.abs((all[b * model.nItems + i] as number) - (pairs[i] as number)));
    });
    return { metrics, parity, batchVsPairs, info: model.info };
  } finally {
    model.dispose();
  }
}
