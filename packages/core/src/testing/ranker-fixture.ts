/**
 * Two-stage bundles for core's tests: a tiny bundle (its tower or scorer is the retrieval stage)
 * plus a ranker graph scoring pairs as userBias[user_index] + itemScore[item_index], so a test can
 * predict the ranker's order exactly. Not part of the public API.
 */
import type { ManifestInput } from '../bundle/manifest.js';
import { type TinyBundle, type TinyBundleOptions, mulberry32, sealBundle, tinyBundle } from './bundle-fixture.js';
import { writeTinyOnnx } from './tiny-onnx.js';

export interface TwoStageBundle extends TinyBundle {
  /** [items]: the ranker's score of each item (plus the user's bias) */
  rankerItemScores: Float32Array;
  /** [users + 1]: per user row, the last row for unknown users */
  rankerUserBias: Float32Array;
}

export function rankerOnnx(itemScores: Float32Array, userBias: Float32Array): Uint8Array {
  return writeTinyOnnx({
    name: 'ranker',
    inputs: [
      { name: 'user_index', dtype: 'int64', shape: ['batch'] },
      { name: 'item_index', dtype: 'int64', shape: ['batch'] },
    ],
    outputs: [{ name: 'scores', dtype: 'float32', shape: ['batch'] }],
    initializers: [
      { name: 'R', dtype: 'float32', dims: [itemScores.length], values: itemScores },
      { name: 'W', dtype: 'float32', dims: [userBias.length], values: userBias },
    ],
    nodes: [
      { op: 'Gather', inputs: ['W', 'user_index'], outputs: ['w'], attributes: { axis: 0 } },
      { op: 'Gather', inputs: ['R', 'item_index'], outputs: ['r'], attributes: { axis: 0 } },
      { op: 'Add', inputs: ['w', 'r'], outputs: ['scores'] },
    ],
  });
}

export async function twoStageBundle(options: TinyBundleOptions & { candidates?: number } = {}): Promise<TwoStageBundle> {
  const base = await tinyBundle(options);
  const items = options.items ?? 40;
  const users = options.users ?? 6;
  const rand = mulberry32((options.seed ?? 7) + 99);
  const rankerItemScores = Float32Array.from({ length: items }, () => rand());
  const rankerUserBias = Float32Array.from({ length: users + 1 }, () => rand() * 10);
  const manifest: ManifestInput = {
    ...base.manifest,
    graphs: {
      ...base.manifest.graphs,
      ranker: {
        file: 'ranker.onnx',
        inputs: [
          { name: 'user_index', dtype: 'int64', shape: ['batch'] },
          { name: 'item_index', dtype: 'int64', shape: ['batch'] },
        ],
        outputs: [{ name: 'scores', dtype: 'float32', shape: ['batch'] }],
        opset: 17,
      },
    },
    ranker: { kind: 'tiny-ranker', graph: 'ranker', candidates: options.candidates ?? 20, params: {}, metrics: {} },
  };
  const files = { ...base.files, 'ranker.onnx': rankerOnnx(rankerItemScores, rankerUserBias) };
  return { ...base, manifest, files: await sealBundle(files, manifest), rankerItemScores, rankerUserBias };
}
