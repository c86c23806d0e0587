import { describe, expect, it } from 'vitest';
import { csrRow } from '../data/csr.js';
import { IdMap, type Dataset } from '../data/dataset.js';
import { drrUsersReference, drrUsersSplit } from './drr-users.js';
import { makeSplit } from './protocols.js';

/**
 * 10 users with ids "10".."1" (index order reversed, so the split must sort by id); each rates
 * items 0..7 at decreasing times (newest first in the file), ratings 5,2,4,5,1,4,4,5 by time order.
 */
function dataset(): Dataset {
  const user: number[] = [];
  const item: number[] = [];
  const value: number[] = [];
  const ts: number[] = [];
  const byTime = [5, 2, 4, 5, 1, 4, 4, 5];
  for (let u = 0; u < 10; u++) {
    for (let i = 7; i >= 0; i--) {
      user.push(u);
      item.push((i + u) % 8);
      value.push(byTime[i]!);
      ts.push(1000 * u + i);
    }
  }
  return {
    name: 'test',
    users: IdMap.from(Array.from({ length: 10 }, (_, u) => String(10 - u))),
    items: IdMap.from(Array.from({ length: 8 }, (_, i) => `i${i}`)),
    interactions: { user: Int32Array.from(user), item: Int32Array.from(item), value: Float32Array.from(value), timestamp: Float64Array.from(ts) },
  };
}

describe('drr-users split', () => {
  const d = dataset();
  const split = drrUsersSplit(d, { stateSize: 3 });

  it('holds out the last 20 % of users by numeric id', () => {
    // ids 9 and 10 are indices 1 and 0
    expect(Array.from(split.test.kind === 'ranking' ? split.test.users : [])).toEqual([1, 0]);
    expect(split.notes[0]).toMatch(/users 9…10 are held out/);
  });

  it('keeps a held-out user up to their state, relevant = later positives', () => {
    if (split.test.kind !== 'ranking') throw new Error('ranking test expected');
    // user index 0: by time items 0..7 rated 5,2,4,5,...; the first 3 positives are items 0, 2, 3
    expect(Array.from(csrRow(split.train.csr, 0))).toEqual([0, 2, 3]);
    // their train rows include the negative rated before the state was complete (item 1, rating 2)
    const rows = split.train.dataset.interactions;
    const items0 = Array.from(rows.item.filter((_, r) => rows.user[r] === 0)).sort();
    expect(items0).toEqual([0, 1, 2, 3]);
    // later positives: items 5, 6, 7 (item 4 was rated 1)
    expect(Array.from(split.test.relevant[1]!)).toEqual([5, 6, 7]);
    // training users keep everything; the CSR holds ratings ≥ 4 only
    expect(Array.from(csrRow(split.train.csr, 9))).toEqual([0, 2, 3, 5, 6, 7].map((i) => (i + 9) % 8).sort());
  });

  it('reports P@5/10 and NDCG@5/10 besides k and is reachable through makeSplit', async () => {
    expect(split.reportK).toEqual([5, 10]);
    const viaProtocol = await makeSplit(d, 'drr-users', { seed: 1 });
    expect(viaProtocol.protocol).toBe('drr-users');
  });

  it('skips held-out users with nothing left to find', () => {
    const s = drrUsersSplit(d, { stateSize: 6 });
    expect(s.test.kind === 'ranking' && s.test.users.length).toBe(0);
    expect(s.notes.join(' ')).toMatch(/2 with no rating ≥ 4 after their first 6 positives/);
  });

  it('rejects a bad state size', () => {
    expect(() => drrUsersSplit(d, { stateSize: 0 })).toThrow(/stateSize/);
  });
});

describe('drr-users as the re-implementation ran it (leak included)', () => {
  const ref = drrUsersReference(dataset(), { stateSize: 3 });

  it('states are the first rated items, relevant the later positives, every other item a candidate', () => {
    expect(Array.from(ref.test.users)).toEqual([1, 0]);
    // user 1 rated items 1, 2, 3, … by time; user 0 items 0, 1, 2, … (any rating enters the state)
    expect(Array.from(ref.states)).toEqual([1, 2, 3, 0, 1, 2]);
    expect(Array.from(ref.test.relevant[0]!)).toEqual([0, 4, 6, 7]);
    expect(Array.from(ref.test.relevant[1]!)).toEqual([3, 5, 6, 7]);
    expect(Array.from(ref.test.candidates[1]!)).toEqual([3, 4, 5, 6, 7]);
  });

  it("trains on every rating, the held-out users' futures included", () => {
    expect(ref.full.dataset.interactions.user.length).toBe(80);
    expect(Array.from(csrRow(ref.full.csr, 0))).toEqual([0, 2, 3, 5, 6, 7]);
  });
});
