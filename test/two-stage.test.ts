/**
 * Two-stage bundles end to end: `tastemaker train --model neumf --retrieval …` writes one bundle,
 * and the unchanged server serves it (retrieval → one batched ranker run → policy).
 */
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { createRecommender } from '@tastemaker/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createNodeApp, silentLogger } from '../packages/server/src/node.js';
import { runCli } from './run-cli.js';

let dir: string;
let csv: string;
const FAST = ['--epochs', '3', '--dim', '4', '--batch-size', '64', '--set', 'mlpLayers=8-4', '--quiet'];

beforeAll(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'tastemaker-two-stage-'));
  csv = path.join(dir, 'plays.csv');
  // Two taste groups: users 0–19 play items a0–a9, users 20–39 play b0–b9 (each user 6 of the 10).
  const lines = ['user,item'];
  for (let u = 0; u < 40; u++) {
    const group = u < 20 ? 'a' : 'b';
    for (let k = 0; k < 6; k++) lines.push(`u${u},${group}${(u + k * 3) % 10}`);
  }
  await writeFile(csv, `${lines.join('\n')}\n`);
});

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

const data = () => ['--data', csv, '--format', 'csv', '--user-col', 'user', '--item-col', 'item'];

describe('two-stage bundles from the CLI', () => {
  it('refuses a ranker without a retrieval stage, and a retrieval stage behind a non-ranker, before training', async () => {
    const alone = await runCli(['train', ...data(), '--model', 'neumf', '--out', path.join(dir, 'x'), ...FAST]);
    expect(alone.code).toBe(2);
    expect(alone.stderr).toMatch(/neumf is a ranker .* --retrieval two-tower\|item-knn\|popularity/);
    const wrong = await runCli(['train', ...data(), '--model', 'ease', '--retrieval', 'popularity', '--out', path.join(dir, 'y'), ...FAST]);
    expect(wrong.code).toBe(2);
    const unknown = await runCli(['train', ...data(), '--model', 'neumf', '--retrieval', 'hnsw', '--out', path.join(dir, 'z'), ...FAST]);
    expect(unknown.stderr).toMatch(/Unknown retrieval "hnsw"\. Valid: two-tower, item-knn, popularity/);
  });

  it.each(['item-knn', 'popularity'])('trains neumf behind %s and the server serves the bundle unchanged', async (retrieval) => {
    const out = path.join(dir, `neumf-${retrieval}`);
    const trained = await runCli(['train', ...data(), '--model', 'neumf', '--retrieval', retrieval, '--candidates', '8', '--out', out, ...FAST]);
    expect(trained.code).toBe(0);
    const manifest = JSON.parse(await readFile(path.join(out, 'manifest.json'), 'utf8')) as {
      model: { kind: string };
      ranker: { kind: string; graph: string; candidates: number; params: Record<string, unknown> };
      graphs: Record<string, unknown>;
    };
    expect(manifest.model.kind).toBe(retrieval);
    expect(manifest.ranker).toMatchObject({ kind: 'neumf', graph: 'ranker', candidates: 8, params: { mlpLayers: '8-4', gmfDim: 4 } });
    expect(Object.keys(manifest.graphs)).toContain('ranker');

    const node = await createNodeApp({
      bundle: out,
      db: path.join(dir, `${retrieval}.db`),
      keys: { secret: 'sk', publishable: 'pk' },
      device: 'cpu',
      index: 'exact',
      logger: silentLogger,
      processMetrics: false,
      policies: { greedy: { kind: 'greedy' } },
    });
    const rec = await createRecommender({ bundle: out, device: 'cpu', index: 'exact' });
    try {
      const res = await node.app.request('/v1/recommend', {
        method: 'POST',
        headers: { authorization: 'Bearer pk', 'content-type': 'application/json' },
        body: JSON.stringify({ userId: 'u3', k: 4, policy: 'greedy' }),
      });
      expect(res.status).toBe(200);
      const body = (await res.json()) as { model: string; items: { itemId: string }[] };
      expect(body.model).toMatch(new RegExp(`^${retrieval}@`));
      // The greedy policy keeps the two-stage order that core computes: the ranker's, over retrieval's candidates.
      const direct = await rec.recommend({ userId: 'u3', k: 4 });
      expect(body.items.map((i) => i.itemId)).toEqual(direct.items.map((i) => i.itemId));
      expect(rec.info().ranker).toMatchObject({ kind: 'neumf', candidates: 8 });
    } finally {
      await rec.dispose();
      await node.close();
    }
  });
});
