import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { runCli } from './run-cli.js';

let dir: string;
let csv: string;

beforeAll(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'tastemaker-cli-'));
  csv = path.join(dir, 'plays.csv');
  // Two taste groups: users 0–19 play items a0–a9, users 20–39 play b0–b9 (each user 7 of the 10).
  const lines = ['user,item,plays'];
  for (let u = 0; u < 40; u++) {
    const group = u < 20 ? 'a' : 'b';
    for (let k = 0; k < 7; k++) lines.push(`u${u},${group}${(u + k * 3) % 10},${1 + k}`);
  }
  await writeFile(csv, `${lines.join('\n')}\n`);
});

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

afterEach(() => {
  vi.restoreAllMocks();
});

describe('tastemaker CLI', () => {
  it('evaluate --json prints one JSON object as the last line of stdout', async () => {
    const res = await runCli(['evaluate', '--data', csv, '--format', 'csv', '--user-col', 'user', '--item-col', 'item', '--model', 'ease', '--protocol', 'ratio-75', '--seed', '42', '--json', '--quiet']);
    expect(res.code).toBe(0);
    const last = res.stdout.trim().split('\n').at(-1)!;
    const result = JSON.parse(last) as { model: string; protocol: string; backend: string; metrics: Record<string, number>; trainSeconds: number };
    expect(result.model).toBe('ease');
    expect(result.protocol).toBe('ratio-75');
    expect(result.backend).toBe('typed-arrays');
    expect(Object.keys(result.metrics)).toEqual(expect.arrayContaining(['ndcg@10', 'hr@10', 'precision@10', 'recall@10', 'map@10', 'mrr@10', 'coverage']));
    // The groups are disjoint, so held-out items are found far above chance (10 of 20 items are in-group).
    expect(result.metrics['hr@10']).toBeGreaterThan(0.9);
    expect(typeof result.trainSeconds).toBe('number');
  });

  it('train writes a bundle that recommend serves, in-group items first', async () => {
    const out = path.join(dir, 'bundle');
    const trained = await runCli(['train', '--data', csv, '--format', 'csv', '--user-col', 'user', '--item-col', 'item', '--model', 'item-knn', '--out', out, '--quiet']);
    expect(trained.code).toBe(0);
    const rec = await runCli(['recommend', '--bundle', out, '--user', 'u0', '--k', '3', '--json']);
    expect(rec.code).toBe(0);
    const res = JSON.parse(rec.stdout.trim()) as { items: { itemId: string; score: number }[] };
    expect(res.items).toHaveLength(3);
    for (const it of res.items) expect(it.itemId.startsWith('a')).toBe(true);
  });

  it('rejects unknown models and protocols listing the valid ones, with exit code 2', async () => {
    const bad = await runCli(['evaluate', '--data', csv, '--format', 'csv', '--model', 'nope', '--protocol', 'ratio-75']);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('Unknown model "nope"');
    expect(bad.stderr).toContain('two-tower');
    const proto = await runCli(['evaluate', '--data', csv, '--format', 'csv', '--model', 'ease', '--protocol', 'nope']);
    expect(proto.code).toBe(2);
    expect(proto.stderr).toContain('ncf-loo');
  });

  it('reports missing flags and malformed data as one clean line', async () => {
    const missing = await runCli(['train', '--format', 'csv', '--model', 'ease', '--out', path.join(dir, 'x')]);
    expect(missing.code).toBe(2);
    expect(missing.stderr).toBe('tastemaker: Missing required flag --data.\n');
    const broken = path.join(dir, 'broken.csv');
    await writeFile(broken, 'user,item,plays\nu1,i1,3\nu2,i2,notanumber\n');
    const bad = await runCli(['train', '--data', broken, '--format', 'csv', '--user-col', 'user', '--item-col', 'item', '--value-col', 'plays', '--model', 'ease', '--out', path.join(dir, 'y')]);
    expect(bad.code).toBe(1);
    expect(bad.stderr).toMatch(/broken\.csv.*line 3/);
    expect(bad.stderr.split('\n').filter(Boolean)).toHaveLength(1);
  });

  it('rejects a recommend without --user or --history', async () => {
    const res = await runCli(['recommend', '--bundle', path.join(dir, 'bundle')]);
    expect(res.code).toBe(2);
    expect(res.stderr).toContain('--user');
  });
});
