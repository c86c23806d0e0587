import { mkdtemp, readFile, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { readMovieLens1m } from './movielens-1m.js';
import { dataPath } from './paths.js';

describe('readMovieLens1m on the shared data (partial ratings file)', () => {
  it('indexes users and items in order of first appearance, reproducing the NCF ids', async () => {
    const started = performance.now();
    const d = await readMovieLens1m(dataPath('ml-1m'));
    const ms = performance.now() - started;
    expect(d.name).toBe('movielens-1m');
    expect(d.source?.path).toBe(dataPath('ml-1m'));
    expect(d.interactions.user.length).toBe(487_650);
    expect(d.users.size).toBe(2999);
    expect(d.items.size).toBe(3615);
    expect([d.items.get('1193'), d.items.get('661'), d.items.get('914'), d.items.get('3408')]).toEqual([0, 1, 2, 3]);
    expect(d.users.ids.every((id, i) => id === String(i + 1))).toBe(true);
    // generous: the budget is < 1 s on a quiet machine, and tests share two cores
    expect(ms).toBeLessThan(5000);

    // every NCF held-out rating of users 0…2998 is an interaction with the same ids
    const ncf = (await readFile(dataPath('ml-1m', 'ncf-protocol', 'ml-1m.test.rating'), 'utf8')).trim().split('\n');
    const seen = new Map<number, number>();
    const { user, item, value, timestamp } = d.interactions;
    for (let k = 0; k < user.length; k++) seen.set(user[k]! * 4096 + item[k]!, value[k]! * 1e10 + timestamp[k]!);
    let matched = 0;
    for (const line of ncf) {
      const [u, i, r, t] = line.split('\t').map(Number) as [number, number, number, number];
      if (u >= 2999) continue;
      expect(seen.get(u * 4096 + i)).toBe(r * 1e10 + t);
      matched++;
    }
    expect(matched).toBe(2999);
  });

  it('decodes latin-1 titles and reads genres and demographics', async () => {
    const d = await readMovieLens1m(dataPath('ml-1m'));
    const les = d.items.get('73');
    expect(les).toBeDefined();
    expect(d.itemTitles?.[les!]).toBe('Misérables, Les (1995)');
    const genres = d.itemFeatures!;
    expect(genres.names).toHaveLength(18);
    expect(genres.names[0]).toBe('genre:Action');
    const row = [...genres.values.subarray(les! * 18, les! * 18 + 18)].flatMap((v, k) => (v ? [genres.names[k]] : []));
    expect(row).toEqual(['genre:Drama', 'genre:Musical']);
    const users = d.userFeatures!;
    expect(users.values).toHaveLength(2999 * users.names.length);
    // UserID 1: F, age code 1, occupation 10
    const user1 = [...users.values.subarray(0, users.names.length)].flatMap((v, k) => (v ? [users.names[k]] : []));
    expect(user1).toEqual(['age:<18', 'gender:F', 'occupation:K-12 student']);
  });
});

describe('readMovieLens1m on small files', () => {
  it('prefers ratings.dat, accepts decimals, and reports malformed lines', async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'tm-ml1m-'));
    await writeFile(path.join(dir, 'ratings.dat'), '5::20::3.5::100\n5::10::4::101\n7::20::1::102\n');
    await writeFile(path.join(dir, 'ratings.users-1-2999.partial.dat'), '1::1::1::1\n');
    const d = await readMovieLens1m(dir);
    expect(d.users.ids).toEqual(['5', '7']);
    expect(d.items.ids).toEqual(['20', '10']);
    expect([...d.interactions.value]).toEqual([3.5, 4, 1]);
    expect(d.itemFeatures).toBeUndefined();

    await writeFile(path.join(dir, 'ratings.dat'), '5::20::3::100\n5::10\n');
    await expect(readMovieLens1m(dir)).rejects.toThrow('ratings.dat line 2: expected 4 ::-separated fields, got 2');
  });

  it('names the missing ratings file', async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'tm-ml1m-'));
    await expect(readMovieLens1m(dir)).rejects.toThrow(path.join(dir, 'ratings.dat'));
  });
});
