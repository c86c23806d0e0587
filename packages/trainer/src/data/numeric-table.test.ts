import { describe, expect, it } from 'vitest';
import { headerLineCount, parseNumericTable } from './numeric-table.js';

const columns = [{ name: 'user', integer: true }, { name: 'item', integer: true }, { name: 'rating' }];

describe('parseNumericTable', () => {
  it('gives the same table from the fast scanner and the line parser', () => {
    const plain = parseNumericTable('f', '1::2::3\r\n4::5::6\r\n', '::', columns);
    // a decimal sends the file to the line parser
    const decimal = parseNumericTable('f', '1::2::3\n4::5::6.5\n', '::', columns);
    expect([...plain.values]).toEqual([1, 2, 3, 4, 5, 6]);
    expect([...decimal.values]).toEqual([1, 2, 3, 4, 5, 6.5]);
    expect(plain.rows).toBe(2);
    expect(decimal.rows).toBe(2);
  });

  it('keeps line numbers across headers and blank lines', () => {
    const t = parseNumericTable('f', 'a\tb\tc\n1\t2\t3\n\n4\t5\t6', '\t', columns, 1);
    expect(t.rows).toBe(2);
    expect([t.line(0), t.line(1)]).toEqual([1, 3]);
    expect(() => parseNumericTable('dir/f.txt', '1\t2\t3\n1\t-2\t3\n', '\t', columns)).toThrow(
      'f.txt line 2: item is not a non-negative integer: "-2"',
    );
  });

  it('detects a header line', () => {
    expect(headerLineCount('userID\tartistID\n2\t51\n')).toBe(1);
    expect(headerLineCount('2\t51\n')).toBe(0);
  });
});
