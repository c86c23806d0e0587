/**
 * The server under test for bench/server.ts, in its own process: the load generator must not share
 * the server's event loop, or every request it sends would be time taken from the server it measures.
 *
 * Forked with `node --import tsx`; argv[2] is a JSON WorkerConfig. Talks over IPC:
 *   → { type: 'listening', url } once serving, or { type: 'failed', message }
 *   ← { type: 'cpu', id }               → { type: 'cpu', id, cpuMs }   (all threads of this process)
 *   ← { type: 'profile-start', id }     → { type: 'ok', id }
 *   ← { type: 'profile-stop', id, path } → { type: 'ok', id }         (a .cpuprofile of what ran since start)
 *   ← { type: 'settle', id }            → { type: 'ok', id }         (background writes done: recommendation log and a WAL checkpoint)
 *   ← { type: 'close' }                 closes the server and the store, then exits
 * Profiling over the inspector rather than --cpu-prof keeps start-up, warm-up and the other phases
 * out of each phase's profile.
 */
import { writeFile } from 'node:fs/promises';
import { Session } from 'node:inspector/promises';
import { pathToFileURL } from 'node:url';
import type { SqliteStoreOptions } from '@tastemaker/core';
import type { Logger } from '@tastemaker/server';

export interface WorkerConfig {
  bundle: string;
  db: string;
  keys: { secret: string; publishable: string };
  /** false serves with the per-user candidate cache off (the server default is on). */
  candidateCache?: boolean;
  /** SQLite store options instead of the server defaults (for experiments; the bench itself passes none). */
  sqlite?: SqliteStoreOptions;
  /**
   * The server module to serve with: the bench passes the built package (packages/server/dist/node.js,
   * what `tastemaker serve` runs). Under tsx the sources would be measured instead, transpiled with
   * keepNames, which wraps every closure created per request in an Object.defineProperty call.
   */
  serverModule: string;
}

export type WorkerRequest =
  | { type: 'cpu'; id: number }
  | { type: 'profile-start'; id: number }
  | { type: 'profile-stop'; id: number; path: string }
  | { type: 'settle'; id: number }
  | { type: 'close' };

export type WorkerMessage =
  | { type: 'listening'; url: string }
  | { type: 'failed'; message: string }
  | { type: 'cpu'; id: number; cpuMs: number }
  | { type: 'ok'; id: number }
  | { type: 'error'; id: number; message: string };

const send = (message: WorkerMessage) => process.send?.(message);

// Startup lines would interleave with the bench's JSON on the shared stdout, so info is dropped.
// Warnings and errors go to stderr, the first few only: a broken phase would otherwise log every request.
let problems = 0;
const report = (level: string, message: string, fields?: Record<string, unknown>) => {
  if (++problems <= 5) process.stderr.write(`[bench server] ${level}: ${message} ${JSON.stringify(fields ?? {}, (_key, value: unknown) => (value instanceof Error ? value.message : value))}\n`);
  else if (problems === 6) process.stderr.write('[bench server] further warnings and errors suppressed\n');
};
const logger: Logger = {
  info() {},
  warn: (message, fields) => report('warn', message, fields),
  error: (message, fields) => report('error', message, fields),
};

const raw = process.argv[2];
if (raw === undefined || process.send === undefined) {
  process.stderr.write('bench/server-worker.ts is forked by bench/server.ts with a JSON config argument\n');
  process.exit(2);
}
const config = JSON.parse(raw) as WorkerConfig;

try {
  const { startServer } = (await import(pathToFileURL(config.serverModule).href)) as typeof import('@tastemaker/server');
  // Server defaults throughout (policies, SQLite durability and its worker thread, index, threads,
  // candidate cache, process metrics): the bench measures what `tastemaker serve` runs, with keys
  // configured as a deployment would have them; only the cache-off comparison turns the cache off.
  const server = await startServer({
    bundle: config.bundle,
    db: config.db,
    port: 0,
    host: '127.0.0.1',
    keys: config.keys,
    logger,
    ...(config.candidateCache === false ? { candidateCache: false as const } : {}),
    ...(config.sqlite !== undefined ? { sqlite: config.sqlite } : {}),
  });
  let closing: Promise<void> | undefined;
  const close = () => {
    closing ??= server.close().then(() => process.exit(0));
    return closing;
  };
  let profiler: Session | undefined;
  const handle = async (message: WorkerRequest): Promise<void> => {
    switch (message.type) {
      case 'close':
        await close();
        return;
      case 'cpu': {
        const usage = process.cpuUsage();
        send({ type: 'cpu', id: message.id, cpuMs: (usage.user + usage.system) / 1000 });
        return;
      }
      case 'settle':
        await server.store.checkpointNow();
        send({ type: 'ok', id: message.id });
        return;
      case 'profile-start':
        profiler = new Session();
        profiler.connect();
        await profiler.post('Profiler.enable');
        await profiler.post('Profiler.start');
        send({ type: 'ok', id: message.id });
        return;
      case 'profile-stop': {
        if (profiler === undefined) throw new Error('profile-stop without profile-start');
        const { profile } = await profiler.post('Profiler.stop');
        profiler.disconnect();
        profiler = undefined;
        await writeFile(message.path, JSON.stringify(profile));
        send({ type: 'ok', id: message.id });
        return;
      }
    }
  };
  process.on('message', (message: WorkerRequest) => {
    handle(message).catch((error: unknown) => {
      if ('id' in message) send({ type: 'error', id: message.id, message: error instanceof Error ? error.message : String(error) });
    });
  });
  // The parent died without asking: do not linger holding the port and the database.
  process.on('disconnect', () => void close());
  send({ type: 'listening', url: server.url });
} catch (error) {
  send({ type: 'failed', message: error instanceof Error ? (error.stack ?? error.message) : String(error) });
  process.exitCode = 1;
}
