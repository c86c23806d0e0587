import { mkdtemp, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { readLastFm2k } from './lastfm-2k.js';
import { dataPath } from './paths.js';

describe('readLastFm2k on the shared data', () => {
  it('reads plays, artists and the top tags', async () => {
    const d = await readLastFm2k(dataPath('lastfm-2k'));
    expect(d.name).toBe('lastfm-2k');
    expect(d.interactions.user.length).toBe(92_834);
    expect(d.users.size).toBe(1892);
    expect(d.items.size).toBe(17_632);
    expect(d.itemTitles?.[0]).toBe('MALICE MIZER');
    expect(d.users.ids[0]).toBe('2');
    // first play: 2 51 13883
    expect(d.items.ids[d.interactions.item[0]!]).toBe('51');
    expect(d.interactions.value[0]).toBe(13883);
    const tags = d.itemFeatures!;
    expect(tags.names).toHaveLength(50);
    expect(tags.names[0]).toBe('tag:rock'); // 7,503 assignments, the most used
    expect(tags.values).toHaveLength(17_632 * 50);
  });
});

describe('readLastFm2k on small files', () => {
  it('handles headers, CRLF and latin-1 tag names; reports unknown artists', async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'tm-2k-'));
    await writeFile(path.join(dir, 'artists.dat'), 'id\tname\turl\tpictureURL\n1\tBjörk\tu\tp\n5\tFoo\tu\tp\n');
    await writeFile(path.join(dir, 'user_artists.dat'), 'userID\tartistID\tweight\r\n3\t5\t10\r\n3\t1\t2\r\n4\t1\t7\r\n');
    await writeFile(path.join(dir, 'tags.dat'), Buffer.from('tagID\ttagValue\r\n1\ttropic\xe1lia\r\n2\trock\r\n', 'latin1'));
    await writeFile(
      path.join(dir, 'user_taggedartists.dat'),
      'userID\tartistID\ttagID\tday\tmonth\tyear\r\n3\t1\t1\t1\t1\t2009\r\n4\t1\t1\t1\t1\t2009\r\n3\t5\t2\t1\t1\t2009\r\n3\t99\t2\t1\t1\t2009\r\n',
    );
    const d = await readLastFm2k(dir, { topTags: 1 });
    expect(d.itemTitles).toEqual(['Björk', 'Foo']);
    expect(d.users.ids).toEqual(['3', '4']);
    expect([...d.interactions.value]).toEqual([10, 2, 7]);
    expect(d.itemFeatures?.names).toEqual(['tag:tropicália']);
    expect([...d.itemFeatures!.values]).toEqual([1, 0]);

    await writeFile(path.join(dir, 'user_artists.dat'), 'userID\tartistID\tweight\r\n3\t5\t10\r\n3\t2\t2\r\n');
    await expect(readLastFm2k(dir)).rejects.toThrow('user_artists.dat line 3: artist id 2 is not in artists.dat');
  });
});
