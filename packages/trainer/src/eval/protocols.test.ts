import { mkdtempSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { IdMap, type Dataset } from '../data/dataset.js';
import { Rng } from '../engine/rng.js';
import { UNKNOWN_ITEM, makeSplit, type PairTest, type RankingTest, type Split } from './protocols.js';

type Row = [user: number, item: number, value: number, ts: number];

function dataset(rows: Row[], nUsers: number, nItems: number, name = 'synthetic'): Dataset {
  return {
    name,
    users: IdMap.from(Array.from({ length: nUsers }, (_, u) => String(u + 1))),
    items: IdMap.from(Array.from({ length: nItems }, (_, i) => `m${i}`)),
    interactions: {
      user: Int32Array.from(rows, (r) => r[0]),
      item: Int32Array.from(rows, (r) => r[1]),
      value: Float32Array.from(rows, (r) => r[2]),
      timestamp: Float64Array.from(rows, (r) => r[3]),
    },
  };
}

/** `perUser[u]` distinct random items out of nItems, with increasing timestamps. */
function randomData(perUser: number[], nItems: number, seed: number): Dataset {
  const rng = new Rng(seed);
  const rows: Row[] = [];
  let ts = 1000;
  perUser.forEach((n, u) => {
    const items = rng.shuffle([...Array(nItems).keys()]).slice(0, n);
    for (const i of items) rows.push([u, i, 1 + rng.int(5), ts++]);
  });
  return dataset(rows, perUser.length, nItems);
}

function ranking(split: Split): RankingTest {
  if (split.test.kind !== 'ranking') throw new Error('expected a ranking test');
  return split.test;
}

function pairs(t: Split['test'] | undefined): PairTest {
  if (t === undefined || t.kind !== 'pairs') throw new Error('expected a pair test');
  return t;
}

function trainItems(split: Split, u: number): number[] {
  const { indptr, indices } = split.train.csr;
  return [...indices.subarray(indptr[u], indptr[u + 1])];
}

function userItems(d: Dataset, u: number): Set<number> {
  const s = new Set<number>();
  for (let r = 0; r < d.interactions.user.length; r++) if (d.interactions.user[r] === u) s.add(d.interactions.item[r]!);
  return s;
}

describe('ratio-75', () => {
  // 20 → 15 train; 7 → round(5.25) = 5; 6 → round(4.5) = 4 (half to even, as numpy); 10 → round(7.5) = 8
  const sizes = [20, 7, 6, 10, 40];
  const d = randomData(sizes, 60, 1);

  it('puts round(0.75·n) of each user\'s items in train, the rest in test, disjoint and complete', async () => {
    const split = await makeSplit(d, 'ratio-75', { seed: 42 });
    const test = ranking(split);
    expect(test.candidates).toBeUndefined();
    expect([...test.users]).toEqual([0, 1, 2, 3, 4]);
    const expectedTrain = [15, 5, 4, 8, 30];
    sizes.forEach((n, u) => {
      const tr = trainItems(split, u);
      const te = [...test.relevant[u]!];
      expect(tr.length).toBe(expectedTrain[u]);
      expect(te.length).toBe(n - expectedTrain[u]!);
      expect(tr.filter((i) => te.includes(i))).toEqual([]);
      expect(new Set([...tr, ...te])).toEqual(userItems(d, u));
    });
    expect(split.train.dataset.interactions.user.length).toBe(15 + 5 + 4 + 8 + 30);
    expect(split.train.dataset.items).toBe(d.items);
  });

  it('is determined by the seed', async () => {
    const a = ranking(await makeSplit(d, 'ratio-75', { seed: 7 }));
    const b = ranking(await makeSplit(d, 'ratio-75', { seed: 7 }));
    const c = ranking(await makeSplit(d, 'ratio-75', { seed: 8 }));
    expect(b.relevant.map((x) => [...x])).toEqual(a.relevant.map((x) => [...x]));
    expect(c.relevant.map((x) => [...x])).not.toEqual(a.relevant.map((x) => [...x]));
  });

  it('keeps repeated (user, item) rows on one side', async () => {
    const rows: Row[] = [];
    for (let i = 0; i < 8; i++) rows.push([0, i, 1, i], [0, i, 1, 100 + i]);
    const split = await makeSplit(dataset(rows, 1, 8), 'ratio-75', { seed: 1 });
    const tr = trainItems(split, 0);
    const te = [...ranking(split).relevant[0]!];
    expect(tr.length).toBe(6);
    expect(te.length).toBe(2);
    expect(tr.filter((i) => te.includes(i))).toEqual([]);
    expect(split.train.dataset.interactions.user.length).toBe(12);
  });
});

describe('leave-one-out', () => {
  // user 0: latest is item 2 (ts 30); user 1: items 4 and 1 tie at ts 50 → the later row (1) wins
  const rows: Row[] = [
    [0, 0, 5, 10],
    [0, 2, 4, 30],
    [0, 1, 3, 20],
    [1, 4, 1, 50],
    [1, 3, 1, 40],
    [1, 1, 1, 50],
    [2, 5, 1, 10],
  ];
  const d = dataset(rows, 3, 300);

  it('loo-full holds out the latest interaction, ties → last in file, and ranks against all items', async () => {
    const split = await makeSplit(d, 'loo-full', { seed: 1 });
    const test = ranking(split);
    expect([...test.users]).toEqual([0, 1]);
    expect(test.relevant.map((x) => [...x])).toEqual([[2], [1]]);
    expect(test.candidates).toBeUndefined();
    expect(trainItems(split, 0)).toEqual([0, 1]);
    expect(trainItems(split, 1)).toEqual([3, 4]);
    // a single-item user stays in train, untested
    expect(trainItems(split, 2)).toEqual([5]);
  });

  it('ncf-loo samples distinct negatives the user never interacted with', async () => {
    const split = await makeSplit(d, 'ncf-loo', { seed: 5 });
    const test = ranking(split);
    expect(test.candidates).toHaveLength(2);
    test.candidates!.forEach((c, t) => {
      const u = test.users[t]!;
      expect(c.length).toBe(100);
      expect(c[0]).toBe(test.relevant[t]![0]);
      const negs = [...c.subarray(1)];
      expect(new Set(negs).size).toBe(99);
      const seen = userItems(d, u);
      for (const n of negs) {
        expect(seen.has(n)).toBe(false);
        expect(n).toBeGreaterThanOrEqual(0);
        expect(n).toBeLessThan(300);
      }
    });
    const again = ranking(await makeSplit(d, 'ncf-loo', { seed: 5 }));
    expect(again.candidates!.map((c) => [...c])).toEqual(test.candidates!.map((c) => [...c]));
  });

  it('ncf-loo with a small catalogue takes every non-interacted item', async () => {
    const small = dataset(rows, 3, 8);
    const test = ranking(await makeSplit(small, 'ncf-loo', { seed: 5, negatives: 99 }));
    // user 0 interacted with {0, 1, 2}: 5 negatives remain
    expect([...test.candidates![0]!].slice(1).sort()).toEqual([3, 4, 5, 6, 7]);
  });

  it('ncf-loo sampling avoids interacted items for a heavy user (rejection path)', async () => {
    const d2 = randomData([900, 30], 1000, 9);
    const test = ranking(await makeSplit(d2, 'ncf-loo', { seed: 2, negatives: 50 }));
    for (let t = 0; t < test.users.length; t++) {
      const seen = userItems(d2, test.users[t]!);
      const negs = [...test.candidates![t]!.subarray(1)];
      expect(negs.length).toBe(50);
      expect(new Set(negs).size).toBe(50);
      expect(negs.some((n) => seen.has(n))).toBe(false);
    }
  });

  it('leaves explicit negatives (value 0, as Last.FM KG\'s label-0 lines) out of train and test', async () => {
    // each user's positives first, then a sampled negative as the last line, no timestamps
    const rows: Row[] = [
      [0, 0, 1, NaN],
      [0, 1, 1, NaN],
      [0, 5, 0, NaN],
      [1, 2, 1, NaN],
      [1, 3, 1, NaN],
      [1, 4, 0, NaN],
    ];
    const split = await makeSplit(dataset(rows, 2, 6), 'loo-full', { seed: 1 });
    expect([...ranking(split).relevant.map((r) => r[0])]).toEqual([1, 3]);
    expect([...split.train.dataset.interactions.value]).toEqual([1, 1]);
    expect([...split.train.csr.indices]).toEqual([0, 2]);
    expect(split.notes.some((n) => n.startsWith('2 rows with value ≤ 0'))).toBe(true);
  });
});

describe('kgcn', () => {
  // 100 users × (3 positives + 3 negatives), as in ratings_final.txt
  const rows: Row[] = [];
  for (let u = 0; u < 100; u++) {
    for (let j = 0; j < 3; j++) rows.push([u, (u + j) % 50, 1, Number.NaN]);
    for (let j = 0; j < 3; j++) rows.push([u, 50 + ((u + j) % 50), 0, Number.NaN]);
  }
  const d = dataset(rows, 100, 100);

  it('splits the labelled lines 6:2:2; train CSR holds train positives only', async () => {
    const split = await makeSplit(d, 'kgcn', { seed: 555 });
    const test = pairs(split.test);
    const val = pairs(split.validation);
    // 600 lines: floor(0.2·600) = 120 eval, 120 test, 360 train
    expect(test.user.length).toBe(120);
    expect(val.user.length).toBe(120);
    const tr = split.train.dataset.interactions;
    expect(tr.user.length).toBe(360);
    const trainPositives = tr.value.filter((v) => v > 0).length;
    expect(split.train.csr.indices.length).toBe(trainPositives);
    expect(tr.value.some((v) => v === 0)).toBe(true);
    for (const i of split.train.csr.indices) expect(i).toBeLessThan(50);
    for (let j = 0; j < test.user.length; j++) expect(test.label[j]).toBe(test.item[j]! < 50 ? 1 : 0);
    // every line is in exactly one part
    const key = (u: number, i: number): string => `${u}:${i}`;
    const all = new Set<string>();
    for (let r = 0; r < tr.user.length; r++) all.add(key(tr.user[r]!, tr.item[r]!));
    for (const p of [test, val]) for (let j = 0; j < p.user.length; j++) all.add(key(p.user[j]!, p.item[j]!));
    expect(all.size).toBe(600);
  });

  it('rejects unlabelled data', async () => {
    const unlabelled = dataset([[0, 0, 1, 0], [0, 1, 1, 0]], 1, 2);
    await expect(makeSplit(unlabelled, 'kgcn', { seed: 1 })).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' });
  });
});

describe('ncf-loo with NCF test files (synthetic)', () => {
  const dirs: string[] = [];
  afterAll(() => {
    for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
  });

  function withFiles(rating: string, negative: string): string {
    const dir = mkdtempSync(path.join(tmpdir(), 'tm-ncf-'));
    dirs.push(dir);
    mkdirSync(path.join(dir, 'ncf-protocol'));
    writeFileSync(path.join(dir, 'ncf-protocol', 'ml-1m.test.rating'), rating);
    writeFileSync(path.join(dir, 'ncf-protocol', 'ml-1m.test.negative'), negative);
    return dir;
  }

  // users "1", "2" (NCF 0, 1); 4 rated items (NCF ids 0-3); an item index 4 exists but is unrated
  const rows: Row[] = [
    [0, 0, 5, 100],
    [0, 1, 4, 200],
    [1, 2, 3, 150],
    [1, 0, 2, 160],
    [1, 3, 1, 170],
  ];
  const ml = (dir: string): Dataset => ({ ...dataset(rows, 2, 5, 'movielens-1m'), source: { format: 'movielens-1m', path: dir } });

  it('uses the files: held-out rows, unknown negatives as -1, absent users skipped', async () => {
    const dir = withFiles(
      '0\t1\t4\t200\n1\t3\t1\t170\n2\t0\t5\t999\n',
      '(0,1)\t2\t3\t7\n(1,3)\t1\t9\t4\n(2,0)\t1\t2\t3\n',
    );
    const split = await makeSplit(ml(dir), 'ncf-loo', { seed: 1 });
    const test = ranking(split);
    expect([...test.users]).toEqual([0, 1]);
    expect(test.relevant.map((x) => [...x])).toEqual([[1], [3]]);
    // NCF item 7, 9 and 4 are ≥ the 4 rated items: unknown
    expect(test.candidates!.map((c) => [...c])).toEqual([
      [1, 2, 3, -1],
      [3, 1, -1, -1],
    ]);
    expect(UNKNOWN_ITEM).toBe(-1);
    expect(trainItems(split, 0)).toEqual([0]);
    expect(trainItems(split, 1)).toEqual([0, 2]);
    expect(split.notes.join(' ')).toMatch(/3 of 6 sampled negatives/);
    expect(split.notes.join(' ')).toMatch(/1 users in the test files are absent/);
  });

  it('throws a clear error when the held-out item is not in the data', async () => {
    const dir = withFiles('0\t2\t4\t200\n', '(0,2)\t3\n');
    await expect(makeSplit(ml(dir), 'ncf-loo', { seed: 1 })).rejects.toMatchObject({
      code: 'DATA_FORMAT',
      message: expect.stringMatching(/do not match/),
    });
  });

  it('throws when a negative is an item the user rated', async () => {
    const dir = withFiles('0\t1\t4\t200\n', '(0,1)\t0\n');
    await expect(makeSplit(ml(dir), 'ncf-loo', { seed: 1 })).rejects.toMatchObject({ code: 'DATA_FORMAT' });
  });

  it('falls back to sampling when the files are absent', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'tm-ncf-'));
    dirs.push(dir);
    const split = await makeSplit(ml(dir), 'ncf-loo', { seed: 1, negatives: 2 });
    expect(ranking(split).candidates!.every((c) => c.length === 3)).toBe(true);
    expect(split.notes.join(' ')).toMatch(/not found/);
  });
});

describe('makeSplit arguments', () => {
  it('rejects an unknown protocol with INVALID_CONFIG', async () => {
    const d = randomData([4], 5, 1);
    // @ts-expect-error -- a protocol from an untyped caller (CLI)
    await expect(makeSplit(d, 'random', { seed: 1 })).rejects.toMatchObject({ code: 'INVALID_CONFIG' });
  });
});
