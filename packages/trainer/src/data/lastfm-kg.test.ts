import { mkdtemp, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { readLastFmKg } from './lastfm-kg.js';
import { dataPath } from './paths.js';

describe('readLastFmKg on the shared data', () => {
  it('reads ratings (positives and sampled negatives) and the knowledge graph', async () => {
    const d = await readLastFmKg(dataPath('lastfm-kg'));
    expect(d.name).toBe('lastfm-kg');
    expect(d.interactions.user.length).toBe(42_346);
    let positives = 0;
    for (const v of d.interactions.value) if (v === 1) positives++;
    expect(positives).toBe(21_173);
    expect(d.users.size).toBe(1872);
    expect(d.items.size).toBe(3846);
    expect(d.items.get('32')).toBe(32);
    expect(d.users.ids[1871]).toBe('1871');
    // first line: 0 32 1
    expect([d.interactions.user[0], d.interactions.item[0], d.interactions.value[0]]).toEqual([0, 32, 1]);
    expect(Number.isNaN(d.interactions.timestamp[0])).toBe(true);

    const kg = d.kg!;
    expect(kg.heads.length).toBe(15_518);
    expect(kg.relations.length).toBe(15_518);
    expect(kg.tails.length).toBe(15_518);
    expect(kg.relationCount).toBe(60);
    expect(kg.entityCount).toBe(9366);
    expect(kg.itemEntity.length).toBe(3846);
    expect(kg.itemEntity[3845]).toBe(3845);
    // first line of kg_final: 2086 0 3846
    expect([kg.heads[0], kg.relations[0], kg.tails[0]]).toEqual([2086, 0, 3846]);
  });
});

describe('readLastFmKg on small files', () => {
  it('strips CR and reports items without an entity line', async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'tm-kg-'));
    await writeFile(path.join(dir, 'item_index2entity_id.txt'), '7\t0\r\n9\t1\r\n');
    await writeFile(path.join(dir, 'kg_final.txt'), '0\t0\t2\r\n1\t1\t2\r\n');
    await writeFile(path.join(dir, 'ratings_final.txt'), '0\t1\t1\r\n2\t0\t0\r\n');
    const d = await readLastFmKg(dir);
    expect(d.users.ids).toEqual(['0', '1', '2']);
    expect(d.items.ids).toEqual(['0', '1']);
    expect(d.kg).toMatchObject({ entityCount: 3, relationCount: 2 });

    await writeFile(path.join(dir, 'ratings_final.txt'), '0\t1\t1\n0\t5\t0\n');
    await expect(readLastFmKg(dir)).rejects.toThrow('ratings_final.txt line 2: item 5 has no line in item_index2entity_id.txt (2 items)');
    await writeFile(path.join(dir, 'kg_final.txt'), '0\t0\t2\n1\tx\t2\n');
    await expect(readLastFmKg(dir)).rejects.toThrow('kg_final.txt line 2: relation is not a number: "x"');
  });
});
