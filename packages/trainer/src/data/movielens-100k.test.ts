import { mkdtemp, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { DataFormatError } from '@tastemaker/core';
import { describe, expect, it } from 'vitest';
import { readMovieLens100k } from './movielens-100k.js';
import { dataPath } from './paths.js';

async function tempDir(files: Record<string, string>): Promise<string> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'tm-ml100k-'));
  for (const [name, text] of Object.entries(files)) await writeFile(path.join(dir, name), text, 'latin1');
  return dir;
}

describe('readMovieLens100k on the shared data', () => {
  it('reads the counts, id order, titles and features of the GroupLens files', async () => {
    const d = await readMovieLens100k(dataPath('ml-100k'));
    expect(d.name).toBe('movielens-100k');
    expect(d.source).toEqual({ format: 'movielens-100k', path: dataPath('ml-100k') });
    expect(d.interactions.user.length).toBe(100_000);
    expect(d.users.size).toBe(943);
    expect(d.items.size).toBe(1682);
    // index = id - 1
    expect(d.users.ids.every((id, i) => id === String(i + 1))).toBe(true);
    expect(d.items.ids.every((id, i) => id === String(i + 1))).toBe(true);

    const histogram = [0, 0, 0, 0, 0];
    for (const v of d.interactions.value) histogram[v - 1]!++;
    expect(histogram).toEqual([6110, 11370, 27145, 34174, 21201]);
    // first line of u.data: 196 242 3 881250949
    expect([d.interactions.user[0], d.interactions.item[0], d.interactions.value[0], d.interactions.timestamp[0]]).toEqual([
      195, 241, 3, 881250949,
    ]);

    expect(d.itemTitles?.[0]).toBe('Toy Story (1995)');
    const itemF = d.itemFeatures!;
    expect(itemF.names).toHaveLength(19);
    expect(itemF.names[0]).toBe('genre:unknown');
    expect(itemF.names[1]).toBe('genre:Action');
    const toyStory = [...itemF.values.subarray(0, 19)].flatMap((v, k) => (v === 1 ? [itemF.names[k]] : []));
    expect(toyStory).toEqual(['genre:Animation', "genre:Children's", 'genre:Comedy']);

    const userF = d.userFeatures!;
    expect(userF.names).toHaveLength(7 + 2 + 21);
    expect(userF.values).toHaveLength(943 * 30);
    // user 1: 24, M, technician
    const user1 = [...userF.values.subarray(0, 30)].flatMap((v, k) => (v === 1 ? [userF.names[k]] : []));
    expect(user1).toEqual(['age:18-24', 'gender:M', 'occupation:technician']);
    // every user has exactly one age, one gender and one occupation
    for (let u = 0; u < 943; u++) expect(userF.values.subarray(u * 30, u * 30 + 30).reduce((a, b) => a + b, 0)).toBe(3);
  });

  it('reads a GroupLens split with the same id maps', async () => {
    const d = await readMovieLens100k(dataPath('ml-100k'), { ratingsFile: 'u1.base' });
    expect(d.interactions.user.length).toBe(80_000);
    expect(d.users.size).toBe(943);
    expect(d.items.size).toBe(1682);
  });
});

describe('readMovieLens100k on malformed input', () => {
  const base = {
    'u.item': '1|A (1995)|01-Jan-1995||url|0|1|0|0|0|0|0|0|0|0|0|0|0|0|0|0|0|0|0\n2|B (1995)|01-Jan-1995||url|0|0|0|0|0|0|0|0|0|0|0|0|0|0|0|0|0|0|1\n',
    'u.user': '2|30|F|writer|00000\n1|17|M|student|00000\n',
  };

  it('registers catalogue ids in ascending numeric order and buckets ages', async () => {
    const dir = await tempDir({ ...base, 'u.data': '1\t2\t5\t10\n' });
    const d = await readMovieLens100k(dir);
    expect(d.users.ids).toEqual(['1', '2']);
    expect(d.itemFeatures?.names[1]).toBe('genre:Action');
    expect(d.userFeatures?.names.slice(9)).toEqual(['occupation:student', 'occupation:writer']);
    expect(d.userFeatures?.values[0]).toBe(1); // user 1 is 17: '<18'
    expect([...d.interactions.item]).toEqual([1]);
  });

  it('names file, line and reason for a short line', async () => {
    const dir = await tempDir({ ...base, 'u.data': '1\t2\t5\t10\n2\t1\t4\n' });
    const err = await readMovieLens100k(dir).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(DataFormatError);
    expect((err as DataFormatError).message).toBe('u.data line 2: expected 4 tab-separated fields, got 3');
    expect((err as DataFormatError).details).toMatchObject({ file: path.join(dir, 'u.data'), line: 2 });
  });

  it('rejects a non-numeric rating and an unknown user', async () => {
    const bad = await tempDir({ ...base, 'u.data': '1\t2\t5\t10\n1\t1\tfive\t10\n' });
    await expect(readMovieLens100k(bad)).rejects.toThrow('u.data line 2: rating is not a number: "five"');
    const unknown = await tempDir({ ...base, 'u.data': '1\t2\t5\t10\n\n9\t1\t3\t10\n' });
    await expect(readMovieLens100k(unknown)).rejects.toThrow('u.data line 3: user id 9 is not in u.user');
  });

  it('rejects a bad genre flag in u.item and a missing u.user', async () => {
    const dir = await tempDir({ ...base, 'u.item': base['u.item'].replace('|0|1|', '|0|x|'), 'u.data': '1\t1\t1\t1\n' });
    await expect(readMovieLens100k(dir)).rejects.toThrow('u.item line 1: genre flag 2 is not 0 or 1: "x"');
    const noUsers = await tempDir({ 'u.item': base['u.item'], 'u.data': '1\t1\t1\t1\n' });
    const err = await readMovieLens100k(noUsers).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(DataFormatError);
    expect((err as Error).message).toContain(path.join(noUsers, 'u.user'));
  });
});
