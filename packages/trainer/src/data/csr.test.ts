import { describe, expect, it } from 'vitest';
import { csrRow, popularity, timeOrderedRows, toCsr } from './csr.js';
import { IdMap, type Dataset, type Interactions } from './dataset.js';

function interactions(rows: [number, number, number][]): Interactions {
  return {
    user: Int32Array.from(rows.map((r) => r[0])),
    item: Int32Array.from(rows.map((r) => r[1])),
    value: Float32Array.from(rows.map((r) => r[2])),
    timestamp: new Float64Array(rows.length).fill(Number.NaN),
  };
}

describe('toCsr', () => {
  it('sorts items within rows, deduplicates with the last value winning, keeps empty rows', () => {
    const csr = toCsr(
      interactions([
        [2, 3, 1],
        [0, 2, 5],
        [2, 1, 2],
        [0, 2, 7],
        [0, 0, 1],
        [2, 3, 9],
      ]),
      4,
      5,
    );
    expect(csr.rows).toBe(4);
    expect(csr.cols).toBe(5);
    expect([...csr.indptr]).toEqual([0, 2, 2, 4, 4]);
    expect([...csr.indices]).toEqual([0, 2, 1, 3]);
    expect([...csr.values]).toEqual([1, 7, 2, 9]);
    expect([...csrRow(csr, 2)]).toEqual([1, 3]);
    expect(csrRow(csr, 1).length).toBe(0);
  });

  it('sizes from the data set vocabularies or the largest index, and checks ranges', () => {
    const x = interactions([[1, 2, 1]]);
    expect(toCsr(x)).toMatchObject({ rows: 2, cols: 3 });
    const d: Dataset = { name: 't', users: IdMap.from(['a', 'b', 'c']), items: IdMap.from(['x', 'y', 'z', 'w']), interactions: x };
    expect(toCsr(d)).toMatchObject({ rows: 3, cols: 4 });
    expect(() => toCsr(x, 1, 3)).toThrow('user index 1 at interaction 0 is outside [0, 1)');
    expect(() => toCsr(x, 2, 2)).toThrow('item index 2 at interaction 0 is outside [0, 2)');
  });

  it('counts positive entries per item for popularity', () => {
    const x = interactions([
      [0, 1, 1],
      [0, 1, 1],
      [1, 1, 3],
      [1, 0, 0],
      [2, 2, 1],
    ]);
    expect([...popularity(toCsr(x, 3, 4))]).toEqual([0, 2, 1, 0]);
    const d: Dataset = { name: 't', users: IdMap.from(['a', 'b', 'c']), items: IdMap.from(['p', 'q', 'r', 's']), interactions: x };
    expect([...popularity(d)]).toEqual([0, 2, 1, 0]);
  });
});

describe('timeOrderedRows', () => {
  it('orders each row by when the pair last happened, input order breaking ties and standing in for missing times', () => {
    const x = interactions([
      [0, 3, 1],
      [0, 1, 1],
      [0, 2, 1],
      [1, 4, 1],
      [1, 0, 1],
      [0, 3, 1],
    ]);
    x.timestamp.set([30, 20, 10, Number.NaN, Number.NaN, 5]);
    const csr = toCsr(x, 2, 5);
    expect([...csrRow(csr, 0)]).toEqual([1, 2, 3]);
    const ordered = timeOrderedRows(csr, x);
    // item 3's last occurrence is at t=5: the oldest
    expect([...csrRow(ordered, 0)]).toEqual([3, 2, 1]);
    // no timestamps: file order
    expect([...csrRow(ordered, 1)]).toEqual([4, 0]);
    expect([...ordered.indptr]).toEqual([...csr.indptr]);
  });
});
