import { execFileSync } from 'node:child_process';
import { createRequire } from 'node:module';
import { Worker } from 'node:worker_threads';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, describe, expect, it } from 'vitest';
import { RECOMMENDATION_FLUSH_COUNT, SqliteStore } from './sqlite-store.js';
import { MIGRATIONS, SCHEMA_VERSION } from './sqlite-migrations.js';
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

  it('writes the recommendation log on its worker thread within the flush window', async () => {
    const path = freshPath();
    const store = new SqliteStore(path, { recommendationFlushMs: 5 });
    expect(store.backgroundThread).toBe(true);
    const items = Array.from({ length: 20 }, (_, p) => ({ itemId: `i${p}`, position: p, score: 20 - p, propensity: 0.5 }));
    await store.logRecommendation(recommendation({ recommId: 'bg1', userFeatures: new Float32Array([0.25, -3]), items }));
    // Seen from another connection without any read through the store: the worker wrote it.
    const reader = new Database(path, { readonly: true });
    const slate = () => reader.prepare('SELECT COUNT(*) AS n FROM recommendations r, json_each(r.slate) WHERE r.recomm_id = ?').get('bg1') as { n: number };
    const deadline = Date.now() + 5000;
    while (slate().n === 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
    expect(slate().n).toBe(20);
    // The slate column is plain JSON, [itemId, position, score, propensity] per item, that SQL can read.
    expect(reader.prepare("SELECT s.value ->> 0 AS item_id, s.value ->> 1 AS position FROM recommendations r, json_each(r.slate) s WHERE r.recomm_id = ? AND s.value ->> 1 = 17").get('bg1')).toEqual({
      item_id: 'i17',
      position: 17,
    });
    // Items without feedback have no impression row.
    expect(reader.prepare('SELECT COUNT(*) AS n FROM impressions').get()).toEqual({ n: 0 });
    const row = reader.prepare('SELECT user_features FROM recommendations WHERE recomm_id = ?').get('bg1') as { user_features: Buffer };
    expect(Array.from(new Float32Array(new Uint8Array(row.user_features).buffer))).toEqual([0.25, -3]);

    // One batch of recommendations of every shape (non-ASCII strings too): each row reads back as it was logged.
    const shapes = [
      recommendation({ recommId: 'bg2', userId: undefined, context: { page: 'home', n: 2 }, items: [] }),
      recommendation({ recommId: 'bg3', userFeatures: new Float32Array([1, 2, 3]), createdAt: 1_763_000_000_123 }),
      recommendation({
        recommId: 'bg4',
        userId: 'ü-1',
        context: { title: '🎬 amélie' },
        items: [
          { itemId: 'x"y', position: 0, score: Number.NaN, propensity: 1 / 3 },
          { itemId: '🎬 café', position: 1, score: 0.5, propensity: 0.25 },
        ],
      }),
      recommendation({ recommId: 'bg5', userFeatures: new Float32Array([-0.5]) }),
    ];
    for (const r of shapes) await store.logRecommendation(r);
    const read = (id: string) => reader.prepare('SELECT * FROM recommendations WHERE recomm_id = ?').get(id) as Record<string, unknown> | undefined;
    while (read('bg5') === undefined && Date.now() < deadline + 5000) await new Promise((r) => setTimeout(r, 10));
    const floats = (b: unknown) => (b === null ? null : Array.from(new Float32Array(new Uint8Array(b as Buffer).buffer)));
    expect(shapes.map((r) => read(r.recommId)).map((x) => [x?.user_id, x?.context, x?.created_at, floats(x?.user_features), x?.slate])).toEqual([
      [null, '{"page":"home","n":2}', 500, null, '[]'],
      ['u1', null, 1_763_000_000_123, [1, 2, 3], '[["a",0,2,0.8],["b",1,1,0.5]]'],
      ['ü-1', '{"title":"🎬 amélie"}', 500, null, `[["x\\"y",0,null,${1 / 3}],["🎬 café",1,0.5,0.25]]`],
      ['u1', null, 500, [-0.5], '[["a",0,2,0.8],["b",1,1,0.5]]'],
    ]);
    reader.close();
    await store.close();
  });

  it('attributes a click on a recommendation the worker has not written yet, and the late write keeps it', async () => {
    const path = freshPath();
    const store = new SqliteStore(path, { recommendationFlushMs: 10_000 });
    // A full batch goes to the worker at once; the click comes before the worker can have answered.
    const items = Array.from({ length: 20 }, (_, p) => ({ itemId: p === 0 ? 'a' : `i${p}`, position: p, score: 20 - p, propensity: 0.8 }));
    for (let i = 0; i < RECOMMENDATION_FLUSH_COUNT; i++) await store.logRecommendation(recommendation({ recommId: `f${i}`, items }));
    const last = `f${RECOMMENDATION_FLUSH_COUNT - 1}`;
    const [delta] = await store.attributeFeedback([{ recommId: last, itemId: 'a', reward: 1 }]);
    expect(delta).toMatchObject({ trial: 1, reward: 1 });
    // The worker's own insert of the same rows lands afterwards (or already did) and must change nothing.
    await store.checkpointNow();
    await store.close();
    const reopened = new SqliteStore(path);
    expect(await reopened.getImpression(last, 'a')).toMatchObject({ trial: true, reward: 1, propensity: 0.8 });
    expect((await reopened.getRecommendation('f0'))?.items.map((i) => i.itemId)).toEqual(items.map((i) => i.itemId));
    await reopened.close();
  });

  it('checkpoints on the worker, not on commits, and keeps every write', async () => {
    const path = freshPath();
    const store = new SqliteStore(path, { checkpointIntervalMs: 60_000 });
    const raw = (store as unknown as { db: Database.Database }).db;
    expect(raw.pragma('wal_autocheckpoint', { simple: true })).toBe(0);
    for (let i = 0; i < 200; i++) await store.appendEvents([event({ eventId: `k${i}`, context: { pad: 'x'.repeat(500) } })]);
    const result = await store.checkpointNow();
    expect(result?.busy).toBe(0);
    expect(result?.log).toBeGreaterThan(0);
    expect(result?.checkpointed).toBe(result?.log);
    await store.close();
    const reopened = new SqliteStore(path, { backgroundThread: false });
    expect(reopened.backgroundThread).toBe(false);
    expect(await reopened.countEvents()).toBe(200);
    await reopened.close();
  });

  it('takes the work back when its worker dies: the log is written here, SQLite checkpoints again', async () => {
    const path = freshPath();
    const store = new SqliteStore(path, { recommendationFlushMs: 10_000 });
    const inner = store as unknown as { db: Database.Database; worker: { worker: { terminate(): Promise<number> } } };
    for (let i = 0; i < RECOMMENDATION_FLUSH_COUNT; i++) await store.logRecommendation(recommendation({ recommId: `d${i}` }));
    await inner.worker.worker.terminate();
    await new Promise((r) => setTimeout(r, 20));
    expect(store.backgroundThread).toBe(false);
    expect(inner.db.pragma('wal_autocheckpoint', { simple: true })).toBe(1000);
    await store.logRecommendation(recommendation({ recommId: 'after' }));
    await store.close();
    const reopened = new SqliteStore(path);
    expect(await reopened.getRecommendation('d0')).toBeDefined();
    expect(await reopened.getRecommendation('after')).toBeDefined();
    await reopened.close();
  });

  it('keeps a process alive through an awaited close until the worker has written the log', () => {
    const path = freshPath();
    const module = new URL('./sqlite-store.ts', import.meta.url).href;
    const script = `
      const { SqliteStore } = await import(${JSON.stringify(module)});
      const store = new SqliteStore(${JSON.stringify(path)}, { recommendationFlushMs: 10000 });
      await store.logRecommendation({ recommId: 'last', model: 'm', policy: 'p', createdAt: 1, items: [{ itemId: 'a', position: 0, score: 1, propensity: 1 }] });
      await store.close();
      console.log('closed');`;
    const out = execFileSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], { encoding: 'utf8', timeout: 20_000 });
    expect(out.trim()).toBe('closed');
    const raw = new Database(path, { readonly: true });
    expect(raw.prepare('SELECT json_array_length(slate) AS n FROM recommendations WHERE recomm_id = ?').get('last')).toEqual({ n: 1 });
    raw.close();
  });

  it('upgrades a version-1 database: slates and their attributed feedback read back as they were written', async () => {
    const path = freshPath();
    const raw = new Database(path);
    raw.exec((MIGRATIONS[0] as { sql: string }).sql);
    raw.pragma('user_version = 1');
    const insertImpression = raw.prepare('INSERT INTO impressions VALUES (?, ?, ?, ?, ?, ?, ?)');
    raw.prepare('INSERT INTO recommendations VALUES (?, ?, ?, ?, ?, ?, ?)').run('old1', 'u1', 'm', 'thompson', 5, '{"page":"home"}', Buffer.from(new Float32Array([1.5]).buffer));
    // Written out of position order: the slate keeps the positions' order.
    insertImpression.run('old1', 'b', 1, 0.25, 0.1 + 0.2, 0, null);
    insertImpression.run('old1', 'a', 0, 0.75, 1 / 3, 1, 1);
    raw.prepare('INSERT INTO recommendations VALUES (?, ?, ?, ?, ?, ?, ?)').run('old2', null, 'm', 'greedy', 6, null, null);
    raw.close();

    const store = new SqliteStore(path);
    expect(store.schemaVersion()).toBe(SCHEMA_VERSION);
    expect(await store.getRecommendation('old1')).toEqual({
      recommId: 'old1',
      userId: 'u1',
      model: 'm',
      policy: 'thompson',
      createdAt: 5,
      context: { page: 'home' },
      userFeatures: new Float32Array([1.5]),
      items: [
        { itemId: 'a', position: 0, score: 0.75, propensity: 1 / 3 },
        { itemId: 'b', position: 1, score: 0.25, propensity: 0.1 + 0.2 },
      ],
    });
    expect((await store.getRecommendation('old2'))?.items).toEqual([]);
    expect(await store.getImpression('old1', 'a')).toMatchObject({ trial: true, reward: 1, propensity: 1 / 3 });
    expect(await store.getImpression('old1', 'b')).toMatchObject({ trial: false, reward: null, position: 1 });
    // Feedback on the upgraded slate is attributed once, as on a new one.
    const [first] = await store.attributeFeedback([{ recommId: 'old1', itemId: 'b', reward: 1 }]);
    expect(first).toMatchObject({ trial: 1, reward: 1 });
    const [again] = await store.attributeFeedback([{ recommId: 'old1', itemId: 'b', reward: 1 }]);
    expect(again).toMatchObject({ trial: 0, reward: 0 });
    await store.close();
  });

  it('logs a slate with a non-finite score (kept as NaN) and attributes feedback to it', async () => {
    const store = new SqliteStore(':memory:');
    await store.logRecommendation(recommendation({ recommId: 'nan', items: [{ itemId: 'x', position: 0, score: Number.NaN, propensity: 0.5 }] }));
    expect((await store.getRecommendation('nan'))?.items).toEqual([{ itemId: 'x', position: 0, score: Number.NaN, propensity: 0.5 }]);
    const [delta] = await store.attributeFeedback([{ recommId: 'nan', itemId: 'x', reward: 1 }]);
    expect(delta?.impression).toMatchObject({ itemId: 'x', trial: true, reward: 1, propensity: 0.5 });
    expect(await store.attributeFeedback([{ recommId: 'nan', itemId: 'not-shown', reward: 1 }])).toEqual([undefined]);
    await store.close();
  });

  it('attributes feedback while another connection holds the write lock and commits (waits; no SQLITE_BUSY)', async () => {
    const path = freshPath();
    const store = new SqliteStore(path, { recommendationFlushMs: 0 });
    await store.logRecommendation(recommendation({ recommId: 'locked', items: [{ itemId: 'a', position: 0, score: 1, propensity: 0.5 }] }));
    // Another connection (the log worker, or another process) takes the write lock, then commits a
    // change while this connection waits for it. A transaction that began as a reader would then hold a
    // stale snapshot that SQLite cannot upgrade, and fail at once instead of waiting.
    const driver = createRequire(import.meta.url).resolve('better-sqlite3');
    const signal = new Int32Array(new SharedArrayBuffer(4));
    const holder = new Worker(
      `const { workerData: w } = require('node:worker_threads');
       const db = new (require(w.driver))(w.path);
       db.exec('BEGIN IMMEDIATE');
       db.prepare("INSERT INTO users (user_id, attributes, created_at, updated_at) VALUES ('other', '{}', 1, 1)").run();
       Atomics.store(w.signal, 0, 1); Atomics.notify(w.signal, 0);
       Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 300);
       db.exec('COMMIT'); db.close();`,
      { eval: true, workerData: { driver, path, signal } },
    );
    const exited = new Promise((resolve) => holder.once('exit', resolve));
    Atomics.wait(signal, 0, 0, 5000);
    const [delta] = await store.attributeFeedback([{ recommId: 'locked', itemId: 'a', reward: 1 }]);
    expect(delta).toMatchObject({ trial: 1, reward: 1 });
    await exited;
    expect(await store.getUser('other')).toBeDefined();
    await store.close();
  });

  it('refuses a database from a newer schema and a bad synchronous option', () => {
    const path = freshPath();
    const raw = new Database(path);
    raw.pragma(`user_version = ${SCHEMA_VERSION + 1}`);
    raw.close();
    expect(() => new SqliteStore(path)).toThrow(/newer than this Tastemaker supports/);
    expect(() => new SqliteStore(':memory:', { synchronous: 'OFF' as 'FULL' })).toThrow(/Valid values: "FULL", "NORMAL"/);
    expect(() => new SqliteStore(':memory:', { recommendationFlushMs: -1 })).toThrow(/recommendationFlushMs/);
  });
});
