// Node only (better-sqlite3 is a native addon): exported from core's node entry, never the edge one.
import Database from 'better-sqlite3';
import { TastemakerError } from '../errors/index.js';
import { SqliteWorker, type CheckpointResult, type RecommendationRows } from './sqlite-worker.js';
import { MIGRATIONS, SCHEMA_VERSION } from './sqlite-migrations.js';
import {
  EVENT_TYPES,
  HISTORY_EVENT_TYPES,
  type AppendStatus,
  type EventQuery,
  type EventRecord,
  type EventType,
  type FeedbackDelta,
  type FeedbackInput,
  type ImpressionRecord,
  type ItemInput,
  type ItemPatch,
  type ItemQuery,
  type ItemRecord,
  type JsonObject,
  type LoggedSlate,
  type PolicyStateEntry,
  type RecommendationPage,
  type RecommendationQuery,
  type RecommendationRecord,
  type SlateItem,
  type Store,
  type StoredEvent,
  type UserDeletion,
  type UserRecord,
} from './types.js';
import { bestReward, impressionOf, mergeAttributes, pageSize } from './records.js';

type Sqlite = Database.Database;
type Statement = Database.Statement;
type Transaction<F extends (...args: never[]) => unknown> = Database.Transaction<F>;
type Row = Record<string, unknown>;

export type SqliteSynchronous = 'FULL' | 'NORMAL';

export interface SqliteStoreOptions {
  /**
   * How hard commits of events, feedback, catalogue and policy state reach the disk. FULL (default)
   * syncs the WAL on every commit, so an acknowledged event survives power loss; NORMAL survives a
   * process crash but may lose the last commits on power loss.
   */
  synchronous?: SqliteSynchronous;
  /**
   * The same for the recommendation log. NORMAL by default: one fsync per served recommendation would
   * cap the serving rate at the disk's sync rate, and a lost log entry only costs the attribution of
   * that one slate. The next FULL commit makes earlier NORMAL commits durable too (same WAL file).
   */
  recommendationSynchronous?: SqliteSynchronous;
  /** ms to wait on a lock held by another connection before failing. Default 5000. */
  busyTimeoutMs?: number;
  /**
   * How long a logged recommendation may wait in memory before it is written, in ms. Recommendations
   * logged within this window (or until RECOMMENDATION_FLUSH_COUNT wait) are written together, in one
   * transaction with one multi-row insert per slate, and with `backgroundThread` on the worker's
   * connection: the log insert was the largest cost of serving a cached recommendation. Whatever
   * reads or changes logged recommendations (attribution, getRecommendation, getImpression,
   * deleteUser) and close() first write every one not yet known to be written, so a click arriving
   * before the flush still finds its impression. What a process crash can lose grows from nothing to
   * this window of the log (never events, feedback or policy state, which commit before they are
   * acknowledged); a lost entry costs the attribution of that one slate. Default 20; 0 writes each
   * recommendation as it is logged, on this connection.
   */
  recommendationFlushMs?: number;
  /**
   * Run a worker thread with its own connection to the file that writes the recommendation log and
   * runs WAL checkpoints (PASSIVE, every checkpointIntervalMs), so neither blocks this connection's
   * event loop. Default true for files; ':memory:' databases have no second connection and ignore it.
   * false: the log is written here and SQLite checkpoints inside the commit that crosses 1000 WAL pages.
   */
  backgroundThread?: boolean;
  /** ms between background checkpoints. Default 500. */
  checkpointIntervalMs?: number;
}

/** Waiting recommendations that trigger a write without waiting for the timer. */
export const RECOMMENDATION_FLUSH_COUNT = 64;

/** One served slate, its items as the JSON `slate` column (schema version 2, sqlite-migrations.ts). */
const INSERT_RECOMMENDATION_SQL = `INSERT OR IGNORE INTO recommendations (recomm_id, user_id, model, policy, created_at, context, user_features, slate)
  VALUES (?, ?, ?, ?, ?, ?, ?, ?)`;

const EVENT_TYPE_SET: ReadonlySet<string> = new Set(EVENT_TYPES);

/**
 * The embedded default store: one SQLite file in WAL mode (readers never block the writer).
 * Every statement is prepared once with bound parameters, so ids and attributes are data, never SQL;
 * batches run in one transaction each.
 */
export class SqliteStore implements Store {
  readonly kind = 'sqlite';
  readonly path: string;
  private readonly db: Sqlite;
  private readonly sync: SqliteSynchronous;
  private readonly recommendationSync: SqliteSynchronous;
  private currentSync: SqliteSynchronous | undefined;
  /** Set while a writeBatch holds the transaction open: its commit runs at `sync`, so nothing may lower it. */
  private batchOpen = false;
  /** Settles when the last queued writeBatch has finished; batches run one at a time. */
  private batchTail: Promise<void> = Promise.resolve();
  private hiddenCache: Set<string> | undefined;
  private readonly flushMs: number;
  /** Logged, not yet handed to a writer. */
  private pending: RecommendationRows[] = [];
  /** Handed to the worker, not yet known to be written, by batch number. */
  private readonly sent = new Map<number, RecommendationRows[]>();
  private nextBatch = 0;
  /** The worker could not write a batch: the next flush writes everything unconfirmed on this connection. */
  private writeHere = false;
  private flushTimer: ReturnType<typeof setTimeout> | undefined;
  private worker: SqliteWorker | undefined;
  private readonly historyStatements = new Map<string, Statement>();
  private readonly s: ReturnType<typeof prepareStatements>;
  private readonly tx: {
    appendEvents: (events: readonly EventRecord[]) => AppendStatus[];
    writeRecommendations: (rows: readonly RecommendationRows[]) => void;
    // Read, then write: run `.immediate` (BEGIN IMMEDIATE, waiting out busyTimeoutMs for the write
    // lock). A deferred transaction starts as a reader, and when the log worker commits before its
    // first write, SQLite cannot upgrade the stale snapshot and fails at once with SQLITE_BUSY
    // instead of waiting (inside writeBatch, already IMMEDIATE, they are savepoints).
    attribute: Transaction<(inputs: readonly FeedbackInput[]) => (FeedbackDelta | undefined)[]>;
    putItems: (items: readonly ItemInput[], now: number) => ItemRecord[];
    patchItem: Transaction<(itemId: string, patch: ItemPatch, now: number) => ItemRecord | undefined>;
    deleteUser: (userId: string) => UserDeletion;
    putPolicyState: (policy: string, entries: readonly (readonly [string, PolicyStateEntry])[], now: number) => void;
  };

  /** Opens (creating if needed) the database at `path` and brings its schema up to date. ':memory:' for a throwaway one. */
  constructor(path: string, options: SqliteStoreOptions = {}) {
    this.path = path;
    this.sync = checkSync(options.synchronous ?? 'FULL', 'synchronous');
    this.recommendationSync = checkSync(options.recommendationSynchronous ?? 'NORMAL', 'recommendationSynchronous');
    this.flushMs = checkMs(options.recommendationFlushMs ?? 20, 'recommendationFlushMs');
    const checkpointMs = checkMs(options.checkpointIntervalMs ?? 500, 'checkpointIntervalMs');
    this.db = new Database(path, { timeout: options.busyTimeoutMs ?? 5000 });
    try {
      this.db.pragma('journal_mode = WAL');
      this.db.pragma('foreign_keys = ON');
      // After a checkpoint lets the WAL start over, cut the file back to this size so a burst does not
      // keep its disk space forever.
      this.db.pragma(`journal_size_limit = ${64 * 1024 * 1024}`);
      this.setSync(this.sync);
      migrate(this.db);
    } catch (error) {
      this.db.close();
      throw error;
    }
    this.s = prepareStatements(this.db);
    this.tx = this.transactions();
    if ((options.backgroundThread ?? true) && !this.db.memory && checkpointMs > 0) this.startWorker(checkpointMs, options.busyTimeoutMs ?? 5000);
  }

  private startWorker(checkpointIntervalMs: number, busyTimeoutMs: number): void {
    this.db.pragma('wal_autocheckpoint = 0');
    try {
      this.worker = SqliteWorker.start({
        path: this.db.name,
        checkpointIntervalMs,
        synchronous: this.recommendationSync,
        busyTimeoutMs,
        insertRecommendationSql: INSERT_RECOMMENDATION_SQL,
        onWritten: (batch) => this.sent.delete(batch),
        // Not lost: still in `sent`; the next timer writes it here (as would a read of the log, flush or close).
        onWriteFailed: () => {
          this.writeHere = true;
          this.scheduleFlush();
        },
        onFailure: () => {
          // Without the worker nothing would ever checkpoint and the WAL would grow without bound;
          // what it had not written yet is written here.
          this.worker = undefined;
          if (this.db.open) this.db.pragma('wal_autocheckpoint = 1000');
          this.scheduleFlush();
        },
      });
    } catch {
      // No worker threads here (a restricted runtime, say): everything runs on this connection.
      this.db.pragma('wal_autocheckpoint = 1000');
    }
  }

  /** Whether the worker thread is writing the log and checkpointing (false once it failed, or when off). */
  get backgroundThread(): boolean {
    return this.worker?.alive ?? false;
  }

  /**
   * Hands the waiting recommendations to the worker and runs one checkpoint there after them:
   * resolves once everything logged so far is written and checkpointed, with SQLite's answer.
   * Without the worker it writes the log here and answers undefined. For tests and operations
   * (e.g. before copying the file, or to let a benchmark phase finish its background writes).
   */
  async checkpointNow(): Promise<CheckpointResult | undefined> {
    this.open();
    this.handOver();
    const worker = this.worker;
    if (worker === undefined || !worker.alive) {
      this.writeLog();
      return undefined;
    }
    // The worker answers in order, so its acknowledgements of the batches come before this answer.
    return worker.checkpointNow();
  }

  async writeBatch<T>(fn: () => Promise<T>): Promise<T> {
    this.open();
    const previous = this.batchTail;
    let release!: () => void;
    this.batchTail = new Promise<void>((resolve) => (release = resolve));
    try {
      await previous;
      this.open(this.sync);
      // IMMEDIATE takes the write lock now, so the commit cannot fail on a lock another connection took meanwhile.
      this.db.exec('BEGIN IMMEDIATE');
      this.batchOpen = true;
      let outcome: { ok: true; value: T } | { ok: false; error: unknown };
      try {
        outcome = { ok: true, value: await fn() };
      } catch (error) {
        outcome = { ok: false, error };
      }
      this.batchOpen = false;
      try {
        this.db.exec('COMMIT');
      } catch (error) {
        // A failed COMMIT (I/O error, disk full) may leave the transaction open; nothing of it was stored.
        if (this.db.inTransaction) this.db.exec('ROLLBACK');
        throw error;
      }
      if (!outcome.ok) throw outcome.error;
      return outcome.value;
    } finally {
      this.batchOpen = false;
      release();
    }
  }

  async appendEvents(events: readonly EventRecord[]): Promise<AppendStatus[]> {
    this.open(this.sync);
    return this.tx.appendEvents(events);
  }

  async getEvent(eventId: string): Promise<StoredEvent | undefined> {
    this.open();
    const row = this.s.getEvent.get(eventId) as Row | undefined;
    return row === undefined ? undefined : eventFromRow(row);
  }

  async listEvents(query: EventQuery = {}): Promise<StoredEvent[]> {
    this.open();
    const where: string[] = [];
    const params: unknown[] = [];
    // Only fixed column names enter the SQL text; every value is a bound parameter.
    const add = (clause: string, value: unknown) => {
      where.push(clause);
      params.push(value);
    };
    if (query.afterSeq !== undefined) add('seq > ?', query.afterSeq);
    if (query.userId !== undefined) add('user_id = ?', query.userId);
    if (query.recommId !== undefined) add('recomm_id = ?', query.recommId);
    if (query.itemId !== undefined) add('item_id = ?', query.itemId);
    if (query.type !== undefined) add('type = ?', query.type);
    params.push(pageSize(query.limit));
    const sql = `SELECT * FROM events ${where.length ? `WHERE ${where.join(' AND ')}` : ''} ORDER BY seq LIMIT ?`;
    return (this.db.prepare(sql).all(...params) as Row[]).map(eventFromRow);
  }

  async countEvents(): Promise<number> {
    this.open();
    return (this.s.countEvents.get() as { n: number }).n;
  }

  async logRecommendation(record: RecommendationRecord): Promise<void> {
    this.open();
    this.pending.push(rowsOf(record));
    if (this.flushMs === 0) {
      try {
        this.writeLog();
      } catch (error) {
        // This call reports the failure, so its own record is not kept for a retry.
        this.pending.pop();
        throw error;
      }
    } else if (this.pending.length >= RECOMMENDATION_FLUSH_COUNT) {
      this.handOver();
    } else {
      this.scheduleFlush();
    }
  }

  /** Writes every logged recommendation now, on this connection. Reads of the log and close() do it themselves. */
  async flush(): Promise<void> {
    this.open();
    this.writeLog();
  }

  private scheduleFlush(): void {
    this.flushTimer ??= setTimeout(() => this.flushOnTimer(), Math.max(this.flushMs, 1));
  }

  private flushOnTimer(): void {
    this.flushTimer = undefined;
    if (!this.db.open) return;
    try {
      this.handOver();
    } catch {
      // Kept for the next attempt (the next read of the log, log call or timer), whose caller gets
      // the error if it persists: a timer has nobody to report to.
      this.flushTimer ??= setTimeout(() => this.flushOnTimer(), Math.max(this.flushMs, 100));
    }
  }

  /** Gives the waiting recommendations to the worker, or writes them here (and any the worker handed back) without one. */
  private handOver(): void {
    if (this.flushTimer !== undefined) {
      clearTimeout(this.flushTimer);
      this.flushTimer = undefined;
    }
    const worker = this.worker;
    if (worker === undefined || !worker.alive || this.writeHere) return this.writeLog();
    if (this.pending.length === 0) return;
    const batch = this.nextBatch++;
    this.sent.set(batch, this.pending);
    worker.write(batch, this.pending);
    this.pending = [];
  }

  /**
   * Writes here, now, every recommendation not known to be written: the waiting ones and those the
   * worker has not confirmed. Both sides insert OR IGNORE, so when the worker's copy lands second it
   * changes nothing (in particular not the attribution made meanwhile).
   */
  private writeLog(): void {
    if (this.pending.length === 0 && this.sent.size === 0) return;
    if (this.flushTimer !== undefined) {
      clearTimeout(this.flushTimer);
      this.flushTimer = undefined;
    }
    const rows = this.sent.size === 0 ? this.pending : [...[...this.sent.values()].flat(), ...this.pending];
    this.open(this.recommendationSync);
    this.tx.writeRecommendations(rows);
    // Only once written: a failed write keeps them for the next attempt.
    this.pending = [];
    this.sent.clear();
    this.writeHere = false;
  }

  async getRecommendation(recommId: string): Promise<RecommendationRecord | undefined> {
    this.open();
    this.writeLog();
    const row = this.s.getRecommendation.get(recommId) as Row | undefined;
    return row === undefined ? undefined : recommendationFromRow(row);
  }

  async getImpression(recommId: string, itemId: string): Promise<ImpressionRecord | undefined> {
    this.open();
    this.writeLog();
    const row = this.s.getImpression.get({ recomm_id: recommId, item_id: itemId }) as Row | undefined;
    return row === undefined ? undefined : impressionFromRow(row);
  }

  // seq is the rowid: insertion order. SQLite may reuse the largest rowid after that row is deleted
  // (deleteUser), so a slate logged right after an erasure of the newest one can share a seq a reader
  // already passed; only a reader paging at that moment is affected.
  async listRecommendations(query: RecommendationQuery = {}): Promise<RecommendationPage> {
    this.open();
    this.writeLog();
    const rows = this.s.listRecommendations.all(query.afterSeq ?? 0, pageSize(query.limit)) as Row[];
    if (rows.length === 0) return { slates: [] };
    // recommId → itemId → its feedback row (impression rows exist only for items with feedback)
    const feedback = new Map<string, Map<string, Row>>();
    const first = rows[0]!.seq as number;
    const last = rows[rows.length - 1]!.seq as number;
    for (const f of this.s.listFeedback.all(first, last) as Row[]) {
      const recommId = f.recomm_id as string;
      let items = feedback.get(recommId);
      if (items === undefined) feedback.set(recommId, (items = new Map()));
      items.set(f.item_id as string, f);
    }
    const slates = rows.map((row): LoggedSlate => {
      const recommendation = recommendationFromRow(row);
      const items = feedback.get(recommendation.recommId);
      const impressions = recommendation.items.map((item) => {
        const f = items?.get(item.itemId);
        return impressionOf(recommendation, item, f?.trial === 1, optionalNumber(f?.reward) ?? null);
      });
      return { recommendation, impressions };
    });
    return { slates, next: last };
  }

  async attributeFeedback(inputs: readonly FeedbackInput[]): Promise<(FeedbackDelta | undefined)[]> {
    this.open();
    this.writeLog();
    this.open(this.sync);
    return this.tx.attribute.immediate(inputs);
  }

  async putItems(items: readonly ItemInput[], now: number): Promise<ItemRecord[]> {
    this.open(this.sync);
    return this.tx.putItems(items, now);
  }

  async patchItem(itemId: string, patch: ItemPatch, now: number): Promise<ItemRecord | undefined> {
    this.open(this.sync);
    return this.tx.patchItem.immediate(itemId, patch, now);
  }

  async getItem(itemId: string): Promise<ItemRecord | undefined> {
    this.open();
    const row = this.s.getItem.get(itemId) as Row | undefined;
    return row === undefined ? undefined : itemFromRow(row);
  }

  async getItems(itemIds: readonly string[]): Promise<Map<string, ItemRecord>> {
    this.open();
    const out = new Map<string, ItemRecord>();
    for (const id of itemIds) {
      const row = this.s.getItem.get(id) as Row | undefined;
      if (row !== undefined) out.set(id, itemFromRow(row));
    }
    return out;
  }

  async listItems(query: ItemQuery = {}): Promise<ItemRecord[]> {
    this.open();
    const where: string[] = [];
    const params: unknown[] = [];
    if (query.afterId !== undefined) {
      where.push('item_id > ?');
      params.push(query.afterId);
    }
    if (query.hidden !== undefined) {
      where.push('hidden = ?');
      params.push(query.hidden ? 1 : 0);
    }
    params.push(pageSize(query.limit));
    const sql = `SELECT * FROM items ${where.length ? `WHERE ${where.join(' AND ')}` : ''} ORDER BY item_id LIMIT ?`;
    return (this.db.prepare(sql).all(...params) as Row[]).map(itemFromRow);
  }

  async deleteItem(itemId: string): Promise<boolean> {
    this.open(this.sync);
    this.hiddenCache = undefined;
    return this.s.deleteItem.run(itemId).changes > 0;
  }

  async hiddenItemIds(): Promise<ReadonlySet<string>> {
    this.open();
    // Read on every recommendation, written rarely: cached until this store changes the catalogue.
    // Another process writing the same file is not seen until then (one writer process is assumed).
    if (this.hiddenCache === undefined) {
      this.hiddenCache = new Set((this.s.hiddenItems.all() as Row[]).map((r) => r.item_id as string));
    }
    // Safe to hand out: a cached set is replaced on change, never mutated.
    return this.hiddenCache;
  }

  async putUser(userId: string, attributes: JsonObject, now: number): Promise<UserRecord> {
    this.open(this.sync);
    this.s.putUser.run({ user_id: userId, attributes: JSON.stringify(attributes), now });
    return userFromRow(this.s.getUser.get(userId) as Row);
  }

  async getUser(userId: string): Promise<UserRecord | undefined> {
    this.open();
    const row = this.s.getUser.get(userId) as Row | undefined;
    return row === undefined ? undefined : userFromRow(row);
  }

  async deleteUser(userId: string): Promise<UserDeletion> {
    this.open();
    this.writeLog();
    this.open(this.sync);
    return this.tx.deleteUser(userId);
  }

  async getUserHistory(userId: string, options: { limit?: number; types?: readonly EventType[] } = {}): Promise<string[]> {
    this.open();
    const types = [...new Set(options.types ?? HISTORY_EVENT_TYPES)];
    for (const t of types) {
      if (!EVENT_TYPE_SET.has(t)) throw new TastemakerError('INVALID_ARGUMENT', `Unknown event type ${JSON.stringify(t)}`, { valid: EVENT_TYPES });
    }
    if (types.length === 0) return [];
    const key = types.join(',');
    let statement = this.historyStatements.get(key);
    if (statement === undefined) {
      statement = this.db.prepare(
        `SELECT item_id, MAX(ts) AS last, MAX(seq) AS last_seq FROM events
         WHERE user_id = ? AND type IN (${types.map(() => '?').join(', ')})
         GROUP BY item_id ORDER BY last DESC, last_seq DESC LIMIT ?`,
      );
      this.historyStatements.set(key, statement);
    }
    return (statement.all(userId, ...types, pageSize(options.limit)) as Row[]).map((r) => r.item_id as string);
  }

  async getPolicyState(policy: string): Promise<Map<string, PolicyStateEntry>> {
    this.open();
    const out = new Map<string, PolicyStateEntry>();
    for (const row of this.s.getPolicyState.all(policy) as Row[]) {
      out.set(row.key as string, {
        json: typeof row.json === 'string' ? (JSON.parse(row.json) as unknown) : undefined,
        blob: row.blob instanceof Uint8Array ? new Uint8Array(row.blob) : undefined,
      });
    }
    return out;
  }

  async putPolicyState(policy: string, entries: Iterable<readonly [string, PolicyStateEntry]>, now: number): Promise<void> {
    this.open(this.sync);
    this.tx.putPolicyState(policy, [...entries], now);
  }

  async deletePolicyState(policy: string): Promise<void> {
    this.open(this.sync);
    this.s.deletePolicyState.run(policy);
  }

  async close(): Promise<void> {
    if (!this.db.open) return;
    try {
      if (this.flushTimer !== undefined) clearTimeout(this.flushTimer);
      this.flushTimer = undefined;
      const worker = this.worker;
      this.worker = undefined;
      if (worker?.alive) {
        // The worker writes what it was given, then closes its connection, so this one is the last:
        // SQLite checkpoints and removes the WAL when it closes.
        if (this.pending.length > 0) {
          const batch = this.nextBatch++;
          this.sent.set(batch, this.pending);
          worker.write(batch, this.pending);
          this.pending = [];
        }
        await worker.stop();
      }
      // Anything the worker did not confirm (it failed, or is off) is written here.
      this.writeLog();
    } finally {
      if (this.db.open) this.db.close();
    }
  }

  /** Schema version of the open database, for diagnostics. */
  schemaVersion(): number {
    return this.db.pragma('user_version', { simple: true }) as number;
  }

  private open(sync?: SqliteSynchronous): void {
    if (!this.db.open) throw new TastemakerError('DISPOSED', `SqliteStore ${this.path} is closed`);
    // Inside a batch every write commits with the batch, at `sync` (the stronger level).
    if (sync !== undefined && !this.batchOpen) this.setSync(sync);
  }

  private setSync(level: SqliteSynchronous): void {
    // synchronous is per connection and may change between transactions; switching only when needed
    // keeps the common path at zero extra statements.
    if (this.currentSync === level) return;
    this.db.pragma(`synchronous = ${level === 'FULL' ? 'FULL' : 'NORMAL'}`);
    this.currentSync = level;
  }

  private transactions(): SqliteStore['tx'] {
    const { db, s } = this;
    return {
      appendEvents: db.transaction((events: readonly EventRecord[]) =>
        events.map((e): AppendStatus => {
          const info = s.insertEvent.run({
            event_id: e.eventId,
            type: e.type,
            user_id: e.userId,
            item_id: e.itemId,
            recomm_id: e.recommId ?? null,
            position: e.position ?? null,
            value: e.value ?? null,
            ts: e.timestamp,
            received_at: e.receivedAt,
            context: e.context === undefined ? null : JSON.stringify(e.context),
          });
          return info.changes > 0 ? 'accepted' : 'duplicate';
        }),
      ),
      // Positional parameters, which better-sqlite3 binds without building and reading a
      // named-parameter object. The worker runs the same statement with the same values.
      writeRecommendations: db.transaction((rows: readonly RecommendationRows[]) => {
        for (const r of rows) s.insertRecommendation.run([...r.row, JSON.stringify(r.slate)]);
      }),
      attribute: db.transaction((inputs: readonly FeedbackInput[]) =>
        inputs.map((input): FeedbackDelta | undefined => {
          const row = s.getImpression.get({ recomm_id: input.recommId, item_id: input.itemId }) as Row | undefined;
          if (row === undefined) return undefined;
          const before = impressionFromRow(row);
          const reward = bestReward(before.reward, input.reward);
          s.putImpression.run([input.recommId, input.itemId, before.position, finiteOrNull(before.score), before.propensity, reward]);
          return {
            impression: { ...before, trial: true, reward },
            userFeatures: floatsFromBlob(row.user_features),
            trial: before.trial ? 0 : 1,
            reward: (reward ?? 0) - (before.reward ?? 0),
          };
        }),
      ),
      putItems: db.transaction((items: readonly ItemInput[], now: number) => {
        this.hiddenCache = undefined;
        return items.map((item) => {
          s.putItem.run({
            item_id: item.itemId,
            attributes: JSON.stringify(item.attributes ?? {}),
            hidden: item.hidden ? 1 : 0,
            now,
          });
          return itemFromRow(s.getItem.get(item.itemId) as Row);
        });
      }),
      patchItem: db.transaction((itemId: string, patch: ItemPatch, now: number) => {
        const row = s.getItem.get(itemId) as Row | undefined;
        if (row === undefined) return undefined;
        this.hiddenCache = undefined;
        const current = itemFromRow(row);
        s.updateItem.run({
          item_id: itemId,
          attributes: JSON.stringify(mergeAttributes(current.attributes, patch.attributes)),
          hidden: (patch.hidden ?? current.hidden) ? 1 : 0,
          now,
        });
        return itemFromRow(s.getItem.get(itemId) as Row);
      }),
      deleteUser: db.transaction((userId: string): UserDeletion => {
        const profile = s.deleteUser.run(userId).changes > 0;
        const events = s.deleteUserEvents.run(userId).changes;
        s.deleteUserImpressions.run(userId);
        const recommendations = s.deleteUserRecommendations.run(userId).changes;
        return { profile, events, recommendations };
      }),
      putPolicyState: db.transaction((policy: string, entries: readonly (readonly [string, PolicyStateEntry])[], now: number) => {
        for (const [key, entry] of entries) {
          s.putPolicyState.run({
            policy,
            key,
            json: entry.json === undefined ? null : JSON.stringify(entry.json),
            blob: entry.blob === undefined ? null : blobOf(entry.blob),
            now,
          });
        }
      }),
    };
  }
}

function prepareStatements(db: Sqlite) {
  return {
    insertEvent: db.prepare(
      `INSERT INTO events (event_id, type, user_id, item_id, recomm_id, position, value, ts, received_at, context)
       VALUES (@event_id, @type, @user_id, @item_id, @recomm_id, @position, @value, @ts, @received_at, @context)
       ON CONFLICT (event_id) DO NOTHING`,
    ),
    getEvent: db.prepare('SELECT * FROM events WHERE event_id = ?'),
    countEvents: db.prepare('SELECT COUNT(*) AS n FROM events'),
    insertRecommendation: db.prepare(INSERT_RECOMMENDATION_SQL),
    getRecommendation: db.prepare('SELECT * FROM recommendations WHERE recomm_id = ?'),
    listRecommendations: db.prepare('SELECT rowid AS seq, * FROM recommendations WHERE rowid > ? ORDER BY rowid LIMIT ?'),
    // The feedback rows of a page of slates (rowids first…last), in one query.
    listFeedback: db.prepare(
      'SELECT i.recomm_id, i.item_id, i.trial, i.reward FROM impressions i JOIN recommendations r ON r.recomm_id = i.recomm_id WHERE r.rowid BETWEEN ? AND ?',
    ),
    // The item's entry in the slate (SQLite reads the JSON: no parse of the whole slate here), with
    // its impression row when feedback came before; no row when the item was not in the slate.
    getImpression: db.prepare(
      `SELECT r.recomm_id, r.user_id, r.model, r.policy, r.created_at, r.user_features, @item_id AS item_id,
         s.value ->> 1 AS position, s.value ->> 2 AS score, s.value ->> 3 AS propensity, i.trial, i.reward
       FROM recommendations r
       JOIN json_each(r.slate) s ON s.value ->> 0 = @item_id
       LEFT JOIN impressions i ON i.recomm_id = r.recomm_id AND i.item_id = @item_id
       WHERE r.recomm_id = @recomm_id ORDER BY s.key LIMIT 1`,
    ),
    putImpression: db.prepare(
      `INSERT INTO impressions (recomm_id, item_id, position, score, propensity, trial, reward) VALUES (?, ?, ?, ?, ?, 1, ?)
       ON CONFLICT (recomm_id, item_id) DO UPDATE SET trial = 1, reward = excluded.reward`,
    ),
    putItem: db.prepare(
      `INSERT INTO items (item_id, attributes, hidden, created_at, updated_at) VALUES (@item_id, @attributes, @hidden, @now, @now)
       ON CONFLICT (item_id) DO UPDATE SET attributes = excluded.attributes, hidden = excluded.hidden, updated_at = excluded.updated_at`,
    ),
    updateItem: db.prepare('UPDATE items SET attributes = @attributes, hidden = @hidden, updated_at = @now WHERE item_id = @item_id'),
    getItem: db.prepare('SELECT * FROM items WHERE item_id = ?'),
    deleteItem: db.prepare('DELETE FROM items WHERE item_id = ?'),
    hiddenItems: db.prepare('SELECT item_id FROM items WHERE hidden = 1'),
    putUser: db.prepare(
      `INSERT INTO users (user_id, attributes, created_at, updated_at) VALUES (@user_id, @attributes, @now, @now)
       ON CONFLICT (user_id) DO UPDATE SET attributes = excluded.attributes, updated_at = excluded.updated_at`,
    ),
    getUser: db.prepare('SELECT * FROM users WHERE user_id = ?'),
    deleteUser: db.prepare('DELETE FROM users WHERE user_id = ?'),
    deleteUserEvents: db.prepare('DELETE FROM events WHERE user_id = ?'),
    deleteUserImpressions: db.prepare('DELETE FROM impressions WHERE recomm_id IN (SELECT recomm_id FROM recommendations WHERE user_id = ?)'),
    deleteUserRecommendations: db.prepare('DELETE FROM recommendations WHERE user_id = ?'),
    getPolicyState: db.prepare('SELECT key, json, blob FROM policy_state WHERE policy = ?'),
    putPolicyState: db.prepare(
      `INSERT INTO policy_state (policy, key, json, blob, updated_at) VALUES (@policy, @key, @json, @blob, @now)
       ON CONFLICT (policy, key) DO UPDATE SET json = excluded.json, blob = excluded.blob, updated_at = excluded.updated_at`,
    ),
    deletePolicyState: db.prepare('DELETE FROM policy_state WHERE policy = ?'),
  };
}

function migrate(db: Sqlite): void {
  const version = db.pragma('user_version', { simple: true }) as number;
  if (version > SCHEMA_VERSION) {
    throw new TastemakerError(
      'INVALID_CONFIG',
      `${db.name}: database schema version ${version} is newer than this Tastemaker supports (${SCHEMA_VERSION}); upgrade Tastemaker`,
      { version, supported: SCHEMA_VERSION },
    );
  }
  for (const m of MIGRATIONS) {
    if (m.version <= version) continue;
    db.transaction(() => {
      db.exec(m.sql);
      // user_version takes no bound parameter; m.version is a number from the table above.
      db.pragma(`user_version = ${Number(m.version)}`);
    })();
  }
}

/** The record's values as its rows bind them: copies, so a caller changing the record later changes nothing stored. */
function rowsOf(r: RecommendationRecord): RecommendationRows {
  const slate: RecommendationRows['slate'] = [];
  for (const item of r.items) slate.push([item.itemId, item.position, item.score, item.propensity]);
  const features = r.userFeatures;
  return {
    row: [
      r.recommId,
      r.userId ?? null,
      r.model,
      r.policy,
      r.createdAt,
      r.context === undefined ? null : JSON.stringify(r.context),
      // A Buffer (better-sqlite3 binds those as BLOBs), copied.
      features === undefined ? null : Buffer.from(new Uint8Array(features.buffer, features.byteOffset, features.byteLength)),
    ],
    slate,
  };
}

function checkMs(value: number, option: string): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 0) {
    throw new TastemakerError('INVALID_CONFIG', `Invalid ${option}: ${JSON.stringify(value)}. Valid values: a whole number of ms ≥ 0.`, { option, got: value });
  }
  return value;
}

function checkSync(value: string, option: string): SqliteSynchronous {
  if (value !== 'FULL' && value !== 'NORMAL') {
    throw new TastemakerError('INVALID_CONFIG', `Invalid ${option}: ${JSON.stringify(value)}. Valid values: "FULL", "NORMAL".`, {
      option,
      got: value,
      valid: ['FULL', 'NORMAL'],
    });
  }
  return value;
}

function blobOf(bytes: ArrayBufferView): Buffer {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

function floatsFromBlob(value: unknown): Float32Array | undefined {
  if (!(value instanceof Uint8Array)) return undefined;
  // Copy into a fresh, aligned buffer; the platform is little-endian, as the bundle format assumes.
  return new Float32Array(new Uint8Array(value).buffer, 0, Math.floor(value.byteLength / 4));
}

function finiteOrNull(value: number): number | null {
  return Number.isFinite(value) ? value : null;
}

function optionalString(value: unknown): string | undefined {
  return typeof value === 'string' ? value : undefined;
}

function optionalNumber(value: unknown): number | undefined {
  return typeof value === 'number' ? value : undefined;
}

function parseJsonObject(value: unknown): JsonObject | undefined {
  return typeof value === 'string' ? (JSON.parse(value) as JsonObject) : undefined;
}

function eventFromRow(row: Row): StoredEvent {
  return {
    seq: row.seq as number,
    eventId: row.event_id as string,
    type: row.type as EventType,
    userId: row.user_id as string,
    itemId: row.item_id as string,
    recommId: optionalString(row.recomm_id),
    position: optionalNumber(row.position),
    value: optionalNumber(row.value),
    timestamp: row.ts as number,
    receivedAt: row.received_at as number,
    context: parseJsonObject(row.context),
  };
}

/** The items of a recommendations row, from its JSON slate (a non-finite score was stored as null). */
function slateOf(row: Row): SlateItem[] {
  const stored = JSON.parse(row.slate as string) as [string, number, number | null, number][];
  return stored.map(([itemId, position, score, propensity]) => ({ itemId, position, score: score ?? Number.NaN, propensity }));
}

function recommendationFromRow(row: Row): RecommendationRecord {
  return {
    recommId: row.recomm_id as string,
    userId: optionalString(row.user_id),
    model: row.model as string,
    policy: row.policy as string,
    createdAt: row.created_at as number,
    context: parseJsonObject(row.context),
    userFeatures: floatsFromBlob(row.user_features),
    items: slateOf(row),
  };
}

function impressionFromRow(row: Row): ImpressionRecord {
  return {
    itemId: row.item_id as string,
    position: row.position as number,
    score: optionalNumber(row.score) ?? Number.NaN,
    propensity: row.propensity as number,
    recommId: row.recomm_id as string,
    userId: optionalString(row.user_id),
    model: row.model as string,
    policy: row.policy as string,
    createdAt: row.created_at as number,
    trial: row.trial === 1,
    reward: optionalNumber(row.reward) ?? null,
  };
}

function itemFromRow(row: Row): ItemRecord {
  return {
    itemId: row.item_id as string,
    attributes: JSON.parse(row.attributes as string) as JsonObject,
    hidden: row.hidden === 1,
    createdAt: row.created_at as number,
    updatedAt: row.updated_at as number,
  };
}

function userFromRow(row: Row): UserRecord {
  return {
    userId: row.user_id as string,
    attributes: JSON.parse(row.attributes as string) as JsonObject,
    createdAt: row.created_at as number,
    updatedAt: row.updated_at as number,
  };
}
