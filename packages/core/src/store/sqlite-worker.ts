// Node only (worker_threads, better-sqlite3): used by SqliteStore, never reachable from the edge entry.
import { createRequire } from 'node:module';
import { Worker } from 'node:worker_threads';

/** A recommendation as the values its row binds (SqliteWorker.write sends them to the worker as columns). */
export interface RecommendationRows {
  /** recomm_id, user_id, model, policy, created_at, context (JSON), user_features (bytes) */
  row: [string, string | null, string, string, number, string | null, Uint8Array | null];
  /** [item_id, position, score, propensity] per shown item, in order: the row's `slate` column is this as JSON. */
  slate: [string, number, number, number][];
}

export interface SqliteWorkerOptions {
  path: string;
  /** ms between PASSIVE checkpoints. */
  checkpointIntervalMs: number;
  /** synchronous level of the worker's commits of the recommendation log. */
  synchronous: 'FULL' | 'NORMAL';
  busyTimeoutMs: number;
  /** SQL inserting one recommendation row: the 7 values of `row`, then the slate's JSON. */
  insertRecommendationSql: string;
  /** A batch is on disk (committed at `synchronous`). */
  onWritten: (batch: number) => void;
  /** A batch could not be written; the store writes it itself. */
  onWriteFailed: (batch: number, error: Error) => void;
  /** The worker is gone (could not open the file, crashed): the store takes its work back. Called once. */
  onFailure: (error: Error) => void;
}

/**
 * A worker thread with its own connection to the store's file that does the two writes a serving
 * event loop should not wait for: the recommendation log (batches posted by SqliteStore, one
 * transaction each) and WAL checkpoints. better-sqlite3 is synchronous, so on the serving connection
 * both block the event loop: the log insert was the largest part of a cached recommendation's CPU, and
 * SQLite's automatic checkpoint ran inside whichever commit crossed 1000 WAL pages (~5 ms every ~180
 * log commits on the bench). PASSIVE checkpoints take no lock a writer needs; durability is untouched
 * since commits are durable in the WAL before any checkpoint copies them.
 *
 * The worker runs from source text (Worker eval) rather than a file: a separate worker file would need
 * its own entry in every build (ESM, CJS, tsx from source) to be found beside the module using it.
 */
export class SqliteWorker {
  private stopping: Promise<void> | undefined;
  private failed = false;
  private nextRequest = 0;
  private readonly waiting = new Map<number, { resolve: (value: CheckpointResult) => void; reject: (error: Error) => void }>();

  private constructor(
    private readonly worker: Worker,
    private readonly options: SqliteWorkerOptions,
  ) {
    worker.on('message', (message: WorkerReply) => this.receive(message));
    worker.on('error', (error) => this.fail(error));
    worker.on('exit', (code) => {
      if (this.stopping === undefined) this.fail(new Error(`SQLite worker exited with code ${code}`));
    });
    // The worker alone must not keep a process alive; SqliteStore.close() ends it.
    worker.unref();
  }

  static start(options: SqliteWorkerOptions): SqliteWorker {
    const worker = new Worker(WORKER_SOURCE, {
      eval: true,
      workerData: {
        path: options.path,
        driver: betterSqlitePath(),
        intervalMs: options.checkpointIntervalMs,
        synchronous: options.synchronous,
        busyTimeoutMs: options.busyTimeoutMs,
        insertRecommendation: options.insertRecommendationSql,
      },
    });
    return new SqliteWorker(worker, options);
  }

  get alive(): boolean {
    return !this.failed && this.stopping === undefined;
  }

  /** Posts a batch to write; onWritten or onWriteFailed answers it later. */
  write(batch: number, rows: readonly RecommendationRows[]): void {
    // Columns rather than the rows: structured cloning thousands of small arrays cost ~10 µs per
    // recommendation on the event loop, and JSON (the format before) ~5 µs, most of it formatting the
    // numbers. Here the numbers go in one Float64Array and the user features in one byte array, both
    // transferred (not copied), and the strings joined into one string with their lengths in a third
    // transferred array (an array of ~15 strings per slate cloned string by string: ~1.1 µs per
    // recommendation; joined: ~0.5). The worker reads them back in the same order (WORKER_SOURCE's
    // `write`); the slate's JSON is made there, off the event loop.
    let numberCount = 0;
    let stringCount = 0;
    let featureBytes = 0;
    for (const r of rows) {
      numberCount += 4 + 3 * r.slate.length;
      stringCount += 5 + r.slate.length;
      featureBytes += r.row[6]?.byteLength ?? 0;
    }
    const numbers = new Float64Array(numberCount);
    const strings: string[] = new Array<string>(stringCount);
    // Lengths in UTF-16 code units, as the worker's slice counts them.
    const lengths = new Uint32Array(stringCount);
    const features = new Uint8Array(featureBytes);
    let n = 0;
    let t = 0;
    let f = 0;
    const put = (value: string) => {
      lengths[t] = value.length;
      strings[t++] = value;
    };
    for (const { row, slate } of rows) {
      const [recommId, userId, model, policy, createdAt, context, userFeatures] = row;
      numbers[n++] = createdAt;
      numbers[n++] = (userId !== null ? 1 : 0) | (context !== null ? 2 : 0) | (userFeatures !== null ? 4 : 0);
      numbers[n++] = slate.length;
      numbers[n++] = userFeatures?.byteLength ?? 0;
      put(recommId);
      put(userId ?? '');
      put(model);
      put(policy);
      put(context ?? '');
      if (userFeatures !== null) {
        features.set(userFeatures, f);
        f += userFeatures.byteLength;
      }
      for (const [itemId, position, score, propensity] of slate) {
        put(itemId);
        numbers[n++] = position;
        numbers[n++] = score;
        numbers[n++] = propensity;
      }
    }
    const text = strings.join('');
    this.worker.postMessage({ type: 'write', batch, numbers, text, lengths, features }, [numbers.buffer, lengths.buffer, features.buffer]);
  }

  /** One checkpoint now, after the batches posted before it; resolves with SQLite's answer. */
  checkpointNow(): Promise<CheckpointResult> {
    return new Promise((resolve, reject) => {
      if (!this.alive) return reject(new Error('SQLite worker is not running'));
      const id = this.nextRequest++;
      this.waiting.set(id, { resolve, reject });
      this.worker.postMessage({ type: 'checkpoint', id });
    });
  }

  /** Writes what was posted, closes the worker's connection and ends the thread. */
  stop(): Promise<void> {
    this.stopping ??= new Promise<void>((resolve) => {
      if (this.failed) return resolve();
      this.worker.once('exit', () => resolve());
      // Referenced again while stopping: an awaited close() must keep the process alive until the
      // worker has written what it was given (unreferenced, node would exit with the promise pending).
      this.worker.ref();
      this.worker.postMessage({ type: 'stop' });
    });
    return this.stopping;
  }

  private receive(message: WorkerReply): void {
    switch (message.type) {
      case 'written':
        this.options.onWritten(message.batch);
        return;
      case 'write-failed':
        this.options.onWriteFailed(message.batch, new Error(message.message));
        return;
      case 'checkpointed':
      case 'checkpoint-failed': {
        const waiter = this.waiting.get(message.id);
        this.waiting.delete(message.id);
        if (message.type === 'checkpointed') waiter?.resolve({ busy: message.busy, log: message.log, checkpointed: message.checkpointed });
        else waiter?.reject(new Error(message.message));
      }
    }
  }

  private fail(error: Error): void {
    if (this.failed) return;
    this.failed = true;
    for (const waiter of this.waiting.values()) waiter.reject(error);
    this.waiting.clear();
    this.options.onFailure(error);
  }
}

export interface CheckpointResult {
  /** 1 when the checkpoint could not run to completion (a reader or writer was in the way). */
  busy: number;
  /** Frames in the WAL. */
  log: number;
  /** Frames copied into the database. */
  checkpointed: number;
}

type WorkerReply =
  | { type: 'written'; batch: number }
  | { type: 'write-failed'; batch: number; message: string }
  | { type: 'checkpointed'; id: number; busy: number; log: number; checkpointed: number }
  | { type: 'checkpoint-failed'; id: number; message: string };

/** Where better-sqlite3 is, for the worker's require (the ESM source resolves from here; a CJS build has no import.meta.url but a require). */
function betterSqlitePath(): string {
  const url = import.meta.url as string | undefined;
  return (url ? createRequire(url) : require).resolve('better-sqlite3');
}

// CommonJS run by the worker. Messages are handled in order, so a checkpoint or stop comes after the
// batches posted before it. INSERT OR IGNORE: when the store needs a batch before its answer came
// (a click on a recommendation still in flight), it writes the batch itself, and whichever write comes
// second must not undo the attribution the first one allowed.
const WORKER_SOURCE = `
const { parentPort, workerData: w } = require('node:worker_threads');
const Database = require(w.driver);
const db = new Database(w.path, { fileMustExist: true, timeout: w.busyTimeoutMs });
db.pragma('synchronous = ' + w.synchronous);
const insertRecommendation = db.prepare(w.insertRecommendation);
// Reads SqliteWorker.write's columns back, in the order it wrote them, into the insert's 8 values.
const write = db.transaction(({ numbers, text, lengths, features }) => {
  let n = 0, t = 0, f = 0, at = 0;
  const next = () => text.slice(at, (at += lengths[t++]));
  while (n < numbers.length) {
    const createdAt = numbers[n++], flags = numbers[n++], size = numbers[n++], bytes = numbers[n++];
    const recommId = next(), userId = next(), model = next(), policy = next(), context = next();
    const userFeatures = flags & 4 ? Buffer.from(features.buffer, features.byteOffset + f, bytes) : null;
    f += bytes;
    const slate = new Array(size);
    for (let j = 0; j < size; j++) slate[j] = [next(), numbers[n++], numbers[n++], numbers[n++]];
    insertRecommendation.run(recommId, flags & 1 ? userId : null, model, policy, createdAt, flags & 2 ? context : null, userFeatures, JSON.stringify(slate));
  }
});
const checkpoint = () => db.pragma('wal_checkpoint(PASSIVE)')[0];
const timer = setInterval(() => {
  try { checkpoint(); } catch { /* busy or I/O: the next tick tries again */ }
}, w.intervalMs);
const text = (error) => String((error && error.message) || error);
parentPort.on('message', (m) => {
  if (m.type === 'write') {
    try {
      write(m);
      parentPort.postMessage({ type: 'written', batch: m.batch });
    } catch (error) {
      parentPort.postMessage({ type: 'write-failed', batch: m.batch, message: text(error) });
    }
  } else if (m.type === 'checkpoint') {
    try {
      const r = checkpoint();
      parentPort.postMessage({ type: 'checkpointed', id: m.id, busy: r.busy, log: r.log, checkpointed: r.checkpointed });
    } catch (error) {
      parentPort.postMessage({ type: 'checkpoint-failed', id: m.id, message: text(error) });
    }
  } else if (m.type === 'stop') {
    clearInterval(timer);
    db.close();
    parentPort.close();
  }
});
`;
