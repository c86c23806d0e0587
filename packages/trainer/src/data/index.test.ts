import { mkdtemp, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { TastemakerError } from '@tastemaker/core';
import { describe, expect, it } from 'vitest';
import { DATA_FORMATS, readDataset } from './index.js';

describe('readDataset', () => {
  it('lists the formats and rejects an unknown one with the valid ids', async () => {
    expect(DATA_FORMATS).toEqual(['movielens-100k', 'movielens-1m', 'lastfm-kg', 'lastfm-2k', 'csv', 'tsv', 'jsonl']);
    const err = await readDataset('movielens-20m', '/nowhere').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(TastemakerError);
    expect((err as TastemakerError).code).toBe('INVALID_CONFIG');
    expect((err as Error).message).toContain('"movielens-1m"');
  });

  it('dispatches to the interactions file reader with its options', async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'tm-registry-'));
    const file = path.join(dir, 'plays.txt');
    await writeFile(file, 'a\tx\t3\n');
    const d = await readDataset('tsv', file, { columns: { user: 0, item: 1, value: 2 } });
    expect(d.name).toBe('tsv');
    expect(d.interactions.value[0]).toBe(3);
  });
});
