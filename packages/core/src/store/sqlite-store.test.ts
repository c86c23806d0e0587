import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, describe, expect, it } from 'vitest';
import { SqliteStore } from './sqlite-store.js';
import { SCHEMA_VERSION } from './sqlite-migrations.js';
import { event, recommendation, storeContract } from './store-contract.js';

const dir = mkdtempSync(join(tmpdir(), 'tastemaker-sqlite-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
let n = 0;
const freshPath = () => join(dir, `store-${++n}.db`);

storeContract('SqliteStore (file)', () => new SqliteStore(freshPath()));
storeContract('SqliteStore (:memory:)', () => new SqliteStore(':memory:'));

describe('SqliteStore', () => {
  it('keeps events, impressions, catalogue and policy state across close and reopen', async () => {
    const path = freshPath();
    const first = new SqliteStore(path);
    expect(await first.appendEvents([event({ eventId: 'e1' }), event({ eventId: 'e2', type: 'skip' })])).toEqual(['accepted', 'accepted']);
    await first.logRecommendation(recommendation({ userFeatures: new Float32Array([1, 2]) }));
    await first.attributeFeedback([{ recommId: 'r1', itemId: 'a', reward: 1 }]);
    await first.putItems([{ itemId: 'x', hidden: true, attributes: { t: 'X' } }], 1);
    await first.putPolicyState('thompson', [['item:a', { json: [1, 1] }], ['blob', { blob: new Uint8Array([7, 8]) }]], 1);
    await first.close();

    const second = new SqliteStore(path);
    expect(await second.countEvents()).toBe(2);
    expect(await second.appendEvents([event({ eventId: 'e1' })])).toEqual(['duplicate']);
    expect(await second.countEvents()).toBe(2);
    expect(await second.getImpression('r1', 'a')).toMatchObject({ trial: true, reward: 1 });
    expect(Array.from((await second.getRecommendation('r1'))?.userFeatures ?? [])).toEqual([1, 2]);
    expect([...(await second.hiddenItemIds())]).toEqual(['x']);
    const state = await second.getPolicyState('thompson');
    expect(state.get('item:a')?.json).toEqual([1, 1]);
    expect(Array.from(state.get('blob')?.blob ?? [])).toEqual([7, 8]);
    expect(second.schemaVersion()).toBe(SCHEMA_VERSION);
    await second.close();
  });

  it('runs in WAL mode with FULL sync for events', async () => {
    const path = freshPath();
    const store = new SqliteStore(path);
    await store.appendEvents([event({ eventId: 'x' })]);
    await store.close();
    const raw = new Database(path, { readonly: true });
    expect(raw.pragma('journal_mode', { simple: true })).toBe('wal');
    raw.close();
  });

  it('commits a writeBatch once, at the end, at the events sync level', async () => {
    const path = freshPath();
    const store = new SqliteStore(path);
    await store.logRecommendation(recommendation());
    const reader = new Database(path, { readonly: true });
    const count = () => (reader.prepare('SELECT COUNT(*) AS n FROM events').get() as { n: number }).n;
    const seen: number[] = [];
    await store.writeBatch(async () => {
      await store.appendEvents([event({ eventId: 'w1', recommId: 'r1', itemId: 'a' })]);
      // Recommendation logs commit at NORMAL; inside the batch they must not lower the batch's FULL commit.
      await store.logRecommendation(recommendation({ recommId: 'r2' }));
      await store.attributeFeedback([{ recommId: 'r1', itemId: 'a', reward: 1 }]);
      seen.push(count());
      // 2 = FULL, read on the store's own connection: the level the batch commits with.
      seen.push((store as unknown as { db: Database.Database }).db.pragma('synchronous', { simple: true }) as number);
    });
    seen.push(count());
    expect(seen).toEqual([0, 2, 1]);
    reader.close();
    expect(await store.getRecommendation('r2')).toBeDefined();
    await store.close();
  });

  it('refuses a database from a newer schema and a bad synchronous option', () => {
    const path = freshPath();
    const raw = new Database(path);
    raw.pragma(`user_version = ${SCHEMA_VERSION + 1}`);
    raw.close();
    expect(() => new SqliteStore(path)).toThrow(/newer than this Tastemaker supports/);
    expect(() => new SqliteStore(':memory:', { synchronous: 'OFF' as 'FULL' })).toThrow(/Valid values: "FULL", "NORMAL"/);
  });
});
