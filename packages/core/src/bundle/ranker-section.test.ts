import { describe, expect, it } from 'vitest';
import { BundleError } from '../errors/index.js';
import { sealBundle, tinyBundle } from '../testing/bundle-fixture.js';
import { twoStageBundle } from '../testing/ranker-fixture.js';
import { loadBundle } from './load-bundle.js';
import type { ManifestInput } from './manifest.js';
import { memorySource } from './source.js';

async function refusal(files: Record<string, Uint8Array>): Promise<BundleError> {
  const error = await loadBundle(memorySource(files)).then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(BundleError);
  return error as BundleError;
}

/** The two-stage fixture with its manifest edited and everything re-sealed. */
async function edited(edit: (m: ManifestInput) => void): Promise<Record<string, Uint8Array>> {
  const b = await twoStageBundle();
  const manifest = structuredClone(b.manifest);
  edit(manifest);
  return sealBundle(b.files, manifest);
}

describe('the ranker section of a two-stage bundle', () => {
  it('loads the ranker graph beside the retrieval graph', async () => {
    const b = await twoStageBundle({ candidates: 12 });
    const bundle = await loadBundle(memorySource(b.files));
    expect(bundle.userGraph.name).toBe('user_tower');
    expect(bundle.rankerGraph).toMatchObject({ name: 'ranker', output: 'scores', candidates: 12 });
    expect(bundle.manifest.ranker).toMatchObject({ kind: 'tiny-ranker', graph: 'ranker', candidates: 12 });
  });

  it('is optional: single-stage bundles have no ranker', async () => {
    const bundle = await loadBundle(memorySource((await tinyBundle()).files));
    expect(bundle.rankerGraph).toBeUndefined();
  });

  it('refuses a ranker section naming a graph the bundle lacks, or the retrieval graph', async () => {
    const missing = await refusal(await edited((m) => void (m.ranker = { kind: 'x', graph: 'nope', candidates: 5 })));
    expect(missing.code).toBe('BUNDLE_INVALID');
    expect(missing.message).toMatch(/^manifest\.json: ranker\.graph is "nope" but graphs has no "nope"/);
    const same = await refusal(await edited((m) => void (m.ranker = { kind: 'x', graph: 'user_tower', candidates: 5 })));
    expect(same.message).toMatch(/that is the retrieval graph/);
  });

  it('refuses candidates that are not a positive integer', async () => {
    const error = await refusal(await edited((m) => void (m.ranker = { kind: 'x', candidates: 0 })));
    expect(error.message).toMatch(/ranker\.candidates/);
  });

  it('refuses a ranker graph that does not follow the contract, naming its file', async () => {
    const wrongInput = await refusal(
      await edited((m) => {
        const g = m.graphs.ranker;
        if (g) g.inputs = [{ name: 'user_index', dtype: 'int64', shape: ['batch'] }, { name: 'history', dtype: 'int64', shape: ['batch', 'length'] }];
      }),
    );
    expect(wrongInput.message).toMatch(/^ranker\.onnx: ranker graph "ranker" does not follow the ranker contract: inputs must be user_index and item_index/);
    expect(wrongInput.details).toMatchObject({ file: 'ranker.onnx' });

    const wrongOutput = await refusal(
      await edited((m) => {
        const g = m.graphs.ranker;
        if (g) g.outputs = [{ name: 'scores', dtype: 'float32', shape: ['batch', 3] }];
      }),
    );
    expect(wrongOutput.message).toMatch(/ranker\.onnx: .*output scores has rank 2, expected 1/);

    const fixedBatch = await refusal(
      await edited((m) => {
        const g = m.graphs.ranker;
        if (g) g.inputs = [{ name: 'user_index', dtype: 'int64', shape: [1] }, { name: 'item_index', dtype: 'int64', shape: [1] }];
      }),
    );
    expect(fixedBatch.message).toMatch(/fixed batch size 1; it must be symbolic/);

    // a history ranker's third input must have a fixed length
    const freeLength = await refusal(
      await edited((m) => {
        const g = m.graphs.ranker;
        if (g) g.inputs = [...g.inputs, { name: 'history', dtype: 'int64', shape: ['batch', 'length'] }];
      }),
    );
    expect(freeLength.message).toMatch(/input history must have a fixed length \(shape \[batch, n\]\), declared "length"/);
  });

  it('verifies the ranker file like every other file', async () => {
    const b = await twoStageBundle();
    const tampered = { ...b.files, 'ranker.onnx': Uint8Array.from(b.files['ranker.onnx'] ?? [], (v, i) => (i === 40 ? v ^ 1 : v)) };
    const error = await refusal(tampered);
    expect(error.code).toBe('BUNDLE_CHECKSUM_MISMATCH');
    expect(error.message).toMatch(/^ranker\.onnx: sha256/);
  });
});
