import { mkdtemp, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { DataFormatError } from '@tastemaker/core';
import { describe, expect, it } from 'vitest';
import { parseColumnRef, readInteractionsFile } from './interactions-file.js';

async function tempFile(name: string, text: string): Promise<string> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'tm-csv-'));
  const file = path.join(dir, name);
  await writeFile(file, text);
  return file;
}

describe('readInteractionsFile', () => {
  it('finds columns by common header names in a CSV', async () => {
    const file = await tempFile('log.csv', 'user_id,item_id,rating,timestamp\r\nu1,i1,4,100\r\nu2,i1,5,200\r\nu1,i2,3,300\r\n');
    const d = await readInteractionsFile(file);
    expect(d.name).toBe('csv');
    expect(d.source).toEqual({ format: 'csv', path: file });
    expect(d.users.ids).toEqual(['u1', 'u2']);
    expect(d.items.ids).toEqual(['i1', 'i2']);
    expect([...d.interactions.user]).toEqual([0, 1, 0]);
    expect([...d.interactions.item]).toEqual([0, 0, 1]);
    expect([...d.interactions.value]).toEqual([4, 5, 3]);
    expect([...d.interactions.timestamp]).toEqual([100, 200, 300]);
  });

  it('maps columns by name or index, and defaults value to 1 and timestamp to NaN', async () => {
    const file = await tempFile('log.csv', 'when,who,what\n2024-01-01T00:00:00Z,a,x\n,b,y\n');
    const d = await readInteractionsFile(file, { columns: { user: 'who', item: 'what', timestamp: 'when' } });
    expect([...d.interactions.value]).toEqual([1, 1]);
    expect(d.interactions.timestamp[0]).toBe(Date.UTC(2024, 0, 1) / 1000);
    expect(Number.isNaN(d.interactions.timestamp[1])).toBe(true);

    const noHeader = await tempFile('log.txt', 'x;a;2;1700000000000\ny;b;1;1700000001000\n');
    const e = await readInteractionsFile(noHeader, { delimiter: ';', columns: { user: 1, item: 0, value: 2, timestamp: 3 } });
    expect(e.users.ids).toEqual(['a', 'b']);
    expect(e.items.ids).toEqual(['x', 'y']);
    // milliseconds are recognised
    expect([...e.interactions.timestamp]).toEqual([1_700_000_000, 1_700_000_001]);

    // a header of common names is skipped even when columns are given by position
    const indexed = await tempFile('h.csv', 'userId,movieId,rating\n1,2,3\n');
    const h = await readInteractionsFile(indexed, { columns: { user: 1, item: 0 } });
    expect(h.users.ids).toEqual(['2']);
    const forced = await readInteractionsFile(indexed, { hasHeader: false, columns: { user: 0, item: 1 } });
    expect(forced.users.ids).toEqual(['userId', '1']);
  });

  it('reads TSV by extension (positions 0–3 without a header) and quoted CSV fields', async () => {
    const tsv = await tempFile('log.tsv', '1\t10\t2.5\t5\n2\t10\t1\t6\n');
    const d = await readInteractionsFile(tsv);
    expect(d.name).toBe('tsv');
    expect([...d.interactions.value]).toEqual([2.5, 1]);
    expect([...d.interactions.timestamp]).toEqual([5, 6]);

    const quoted = await tempFile('q.csv', 'user,item,count\n"Smith, J","The ""Best"" Song",3\nK,"",1\n');
    await expect(readInteractionsFile(quoted)).rejects.toThrow('q.csv line 3: empty item id');
    await writeFile(quoted, 'user,item,count\n"Smith, J","The ""Best"" Song",3\n');
    const q = await readInteractionsFile(quoted);
    expect(q.users.ids).toEqual(['Smith, J']);
    expect(q.items.ids).toEqual(['The "Best" Song']);
    expect(q.interactions.value[0]).toBe(3);
  });

  it('reads JSON Lines objects and arrays', async () => {
    const objects = await tempFile('events.jsonl', '{"user":1,"item":"a","count":2}\n\n{"user":"1","item":"b","count":4,"extra":true}\n');
    const d = await readInteractionsFile(objects);
    expect(d.name).toBe('jsonl');
    expect(d.users.ids).toEqual(['1']);
    expect([...d.interactions.value]).toEqual([2, 4]);

    const arrays = await tempFile('events.ndjson', '["u","i",1,10]\n["v","i",0,11]\n');
    const a = await readInteractionsFile(arrays, { columns: { user: 0, item: 1, value: 2 } });
    expect([...a.interactions.value]).toEqual([1, 0]);
    expect(Number.isNaN(a.interactions.timestamp[0])).toBe(true);
  });

  it('names file, line and reason for malformed input', async () => {
    const file = await tempFile('bad.csv', 'user,item,rating\na,x,1\nb,y,lots\n');
    const err = await readInteractionsFile(file).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(DataFormatError);
    expect((err as DataFormatError).message).toBe('bad.csv line 3: value is not a number: "lots"');
    expect((err as DataFormatError).details).toEqual({ file, line: 3, reason: 'value is not a number: "lots"' });

    const open = await tempFile('open.csv', 'user,item\n"a,x\n');
    await expect(readInteractionsFile(open)).rejects.toThrow('open.csv line 2: unterminated quoted field');
    const json = await tempFile('bad.jsonl', '{"user":1,"item":2}\n{"user":1,\n');
    await expect(readInteractionsFile(json)).rejects.toThrow(/^bad\.jsonl line 2: invalid JSON/);
    const missingKey = await tempFile('m.jsonl', '{"user":1,"item":2}\n{"user":1}\n');
    await expect(readInteractionsFile(missingKey)).rejects.toThrow('m.jsonl line 2: missing item id');
    const noColumn = await tempFile('c.csv', 'a,b\n1,2\n');
    await expect(readInteractionsFile(noColumn, { columns: { user: 'a', item: 'z' } })).rejects.toThrow(
      'c.csv line 1: column item "z" not found (columns: a, b)',
    );
    await expect(readInteractionsFile(path.join(os.tmpdir(), 'no-such-dir-tm', 'x.csv'))).rejects.toThrow(
      `${path.join(os.tmpdir(), 'no-such-dir-tm', 'x.csv')}: file not found`,
    );
  });

  it('rejects an unknown format with the valid ones listed', async () => {
    const file = await tempFile('x.csv', 'a,b\n');
    // @ts-expect-error: a format outside the union, as a JS caller could pass
    await expect(readInteractionsFile(file, { format: 'parquet' })).rejects.toMatchObject({ code: 'INVALID_CONFIG' });
  });

  it('parses CLI column flags', () => {
    expect(parseColumnRef('2')).toBe(2);
    expect(parseColumnRef('user_id')).toBe('user_id');
  });
});
