/**
 * Node entry of @tastemaker/server: the app on @hono/node-server with the SQLite store, a bundle
 * directory (and optionally a folder of bundles to switch between), keys from options or the
 * environment. Edge runtimes use createApp from the main entry with their own store and model.
 */
import { readdir, readFile, stat } from 'node:fs/promises';
import type { AddressInfo } from 'node:net';
import { basename, join, resolve } from 'node:path';
import { serve, type ServerType } from '@hono/node-server';
import { collectDefaultMetrics, Registry } from 'prom-client';
import {
  createDqnPolicy,
  createDrrPolicy,
  createNodeBackend,
  createPolicy,
  createRecommender,
  directorySource,
  loadBundle,
  SqliteStore,
  type BundleSource,
  type DqnPolicyOptions,
  type DrrPolicyOptions,
  type LoadedBundle,
  type IndexChoice,
  type LinUcbOptions,
  type NodeDevice,
  type Policy,
  type PolicyConfig,
  type RecommenderKgOptions,
  type RewardMapConfig,
  type SqliteStoreOptions,
} from '@tastemaker/core';
import { appLifecycle, createApp, type AppLearning, type AppType } from './app.js';
import { keysConfigured, type ApiKeys } from './auth.js';
import type { CandidateCacheOptions } from './candidate-cache.js';
import type { AppDeps, CorsOptions, ModelCatalog, ModelDescriptor } from './context.js';
import { createConsoleLogger, type Logger } from './logger.js';
import { createTextMetrics } from './metrics.js';
import { fromRecommender, type RecommendationSource } from './recommendation-source.js';

export * from './index.js';

/** A policy config as the server takes it: LinUCB's dim defaults to the bundle's embedding size. */
export type ServerPolicyConfig =
  | Exclude<PolicyConfig, { kind: 'linucb' } | { kind: 'drr' } | { kind: 'dqn' }>
  | ({ kind: 'linucb' } & Omit<LinUcbOptions, 'dim'> & { dim?: number })
  /** serves the bundle's rl section (DRR actor, updated online); the bundle must have one */
  | ({ kind: 'drr' } & DrrPolicyOptions)
  /** serves the bundle's dqn rl section (the Q-network ranks retrieved candidates); the bundle must have one */
  | ({ kind: 'dqn' } & DqnPolicyOptions);

/** Every policy kind side by side, so a request (or an A/B split) can pick any; Thompson serves by default. */
export const DEFAULT_POLICIES: Readonly<Record<string, ServerPolicyConfig>> = {
  // 16 propensity draws rather than the class's 64: the estimate costs draws × candidates Beta
  // samples on every request, and serving rate matters more here than a finer propensity. With the
  // Rao–Blackwellised estimate 16 draws err less than 32 did with 0/1 hits (RMS error 0.038 against
  // 0.067 over 50 candidates without feedback, 0.054 against 0.071 with feedback on half of them).
  thompson: { kind: 'thompson', scoreWeight: 1, propensityDraws: 16 },
  'epsilon-greedy': { kind: 'epsilon-greedy', epsilon: 0.1 },
  linucb: { kind: 'linucb', mode: 'shared', features: 'product', alpha: 0.5, scoreWeight: 1 },
  greedy: { kind: 'greedy' },
  random: { kind: 'random' },
};

export interface NodeAppOptions {
  /** Bundle directory to serve at start. */
  bundle: string;
  /** A folder whose sub-directories are bundles; POST /v1/models/:name/activate switches to one. */
  modelsDir?: string;
  /** SQLite file for events, impressions, catalogue, users and policy state. Default ./tastemaker.db. */
  db?: string;
  sqlite?: SqliteStoreOptions;
  /** Default: TASTEMAKER_SECRET_KEY / TASTEMAKER_PUBLISHABLE_KEY from `env`. */
  keys?: ApiKeys;
  /** Where keys are read from when `keys` leaves them out. Default process.env. */
  env?: Record<string, string | undefined>;
  /** Policies by name. Default DEFAULT_POLICIES, plus `drr` ({ kind: 'drr' }) when the bundle has an rl section. */
  policies?: Record<string, ServerPolicyConfig>;
  /** Default "thompson" when configured, else the first policy. */
  defaultPolicy?: string;
  rewards?: RewardMapConfig;
  /** Inference device for createRecommender. Default "auto". */
  device?: NodeDevice;
  /** Item index for createRecommender. Default "auto". */
  index?: IndexChoice;
  /** Bundles with a knowledge graph: explanations (on by default) and KG candidates (off by default). */
  kg?: RecommenderKgOptions;
  /**
   * onnxruntime intra-op threads per model session. Default 1 (core's SERVING_INTRA_OP_THREADS):
   * each request runs a tiny graph, concurrency comes from requests, and a second thread only
   * spin-waits, costing about as much CPU as the rest of the request.
   */
  intraOpNumThreads?: number;
  cors?: CorsOptions | false;
  bodyLimit?: number;
  logger?: Logger;
  /** Add prom-client's process metrics (CPU, memory, event loop lag) to /metrics. Default true. */
  processMetrics?: boolean;
  /** Per-user candidate cache (createApp's candidateCache). Default { maxUsers: 10000 }; false turns it off. */
  candidateCache?: CandidateCacheOptions | false;
  /** Candidates an exploring policy chooses k from (createApp's candidatePool). Default 50. */
  candidatePool?: number;
  /** Background learning of DRR policies: slice length, checkpoint interval (createApp's learning). */
  learning?: AppDeps['learning'];
}

export interface NodeApp {
  app: AppType;
  store: SqliteStore;
  keys: ApiKeys;
  /** Whether any key is configured; without one the server must stay on localhost. */
  secured: boolean;
  logger: Logger;
  /**
   * Background learning (DRR's updates run between requests): `await learning.idle()` waits until
   * queued updates have run and the weights are checkpointed.
   */
  learning: AppLearning;
  /**
   * Stops background learning and checkpoints the policies' state, releases the model and closes
   * the database. Updates still queued are not run (idle() first to run them).
   */
  close(): Promise<void>;
}

/** Everything startServer builds, without listening: for tests (app.request) and custom servers. */
export async function createNodeApp(options: NodeAppOptions): Promise<NodeApp> {
  const logger = options.logger ?? createConsoleLogger();
  const env = options.env ?? process.env;
  const keys: ApiKeys = {
    secret: options.keys?.secret ?? (env.TASTEMAKER_SECRET_KEY || undefined),
    publishable: options.keys?.publishable ?? (env.TASTEMAKER_PUBLISHABLE_KEY || undefined),
  };
  const load = async (dir: string) => (await loadModel(dir, options)).source;
  const bundleDir = resolve(options.bundle);
  const { source, bundle } = await loadModel(bundleDir, options);
  let store: SqliteStore | undefined;
  try {
    store = new SqliteStore(options.db ?? 'tastemaker.db', options.sqlite);
    const rl = bundle.manifest.rl;
    const configs = options.policies ?? (rl === undefined ? DEFAULT_POLICIES : { ...DEFAULT_POLICIES, ...(rl.algorithm === 'dqn' ? { dqn: { kind: 'dqn' } } : { drr: { kind: 'drr' } }) });
    const policies = await buildPolicies(configs, source.featureDim, bundle, options);
    const defaultPolicy = options.defaultPolicy ?? (policies.has('thompson') ? 'thompson' : undefined);
    const metrics = createTextMetrics(options.processMetrics === false ? {} : { extraText: processMetrics() });
    const app = createApp({
      recommender: source,
      modelId: basename(bundleDir),
      models: directoryCatalog(bundleDir, options.modelsDir, load),
      store,
      policies,
      ...(defaultPolicy !== undefined ? { defaultPolicy } : {}),
      ...(options.rewards !== undefined ? { rewards: options.rewards } : {}),
      keys,
      ...(options.cors !== undefined ? { cors: options.cors } : {}),
      ...(options.bodyLimit !== undefined ? { bodyLimit: options.bodyLimit } : {}),
      logger,
      metrics,
      ...(options.candidateCache !== undefined ? { candidateCache: options.candidateCache } : {}),
      ...(options.candidatePool !== undefined ? { candidatePool: options.candidatePool } : {}),
      ...(options.learning !== undefined ? { learning: options.learning } : {}),
    });
    const lifecycle = appLifecycle(app);
    // A store that cannot load state still serves /healthz and says why on /readyz.
    await lifecycle.ready.catch(() => undefined);
    const opened = store;
    return {
      app,
      store: opened,
      keys,
      secured: keysConfigured(keys),
      logger,
      learning: lifecycle.learning,
      async close() {
        try {
          // writes the last checkpoint of background learning, so before the store closes
          await lifecycle.dispose();
        } finally {
          await opened.close();
          // policies holding a graph session of their own (dqn)
          for (const policy of policies.values()) await (policy as { dispose?: () => Promise<void> }).dispose?.();
        }
      },
    };
  } catch (error) {
    await store?.close();
    await source.dispose?.();
    throw error;
  }
}

export interface StartServerOptions extends NodeAppOptions {
  /** Default 8080; 0 picks a free port. */
  port?: number;
  /** Default 0.0.0.0 with a key configured; always 127.0.0.1 without one. */
  host?: string;
}

export interface RunningServer extends NodeApp {
  url: string;
  port: number;
  host: string;
  server: ServerType;
}

/** Serves the API over HTTP until close(). */
export async function startServer(options: StartServerOptions): Promise<RunningServer> {
  const node = await createNodeApp(options);
  const { logger } = node;
  let host = options.host ?? (node.secured ? '0.0.0.0' : '127.0.0.1');
  if (!node.secured) {
    if (!isLoopback(host)) logger.warn(`ignoring host ${host}: with no API key configured the server listens on 127.0.0.1 only`);
    host = '127.0.0.1';
    logger.warn('running open: no API key configured (TASTEMAKER_SECRET_KEY / TASTEMAKER_PUBLISHABLE_KEY), so every route is open to anyone on this machine');
  } else if (!node.keys.secret) {
    logger.warn('no secret key configured: admin routes (items, users, models, metrics) are closed');
  }
  const server = await new Promise<ServerType>((resolveServer, reject) => {
    const s = serve({ fetch: node.app.fetch, port: options.port ?? 8080, hostname: host }, () => resolveServer(s));
    s.once('error', reject);
  });
  const port = (server.address() as AddressInfo).port;
  const url = `http://${host.includes(':') ? `[${host}]` : host}:${port}`;
  logger.info('tastemaker server listening', { url, db: node.store.path, docs: `${url}/docs` });
  return {
    ...node,
    url,
    port,
    host,
    server,
    async close() {
      await new Promise<void>((done) => server.close(() => done()));
      await node.close();
    },
  };
}

function isLoopback(host: string): boolean {
  return host === 'localhost' || host === '::1' || host.startsWith('127.');
}

async function buildPolicies(configs: Record<string, ServerPolicyConfig>, featureDim: number, bundle: LoadedBundle, options: NodeAppOptions): Promise<Map<string, Policy>> {
  const out = new Map<string, Policy>();
  for (const [name, config] of Object.entries(configs)) {
    if (config.kind === 'drr') out.set(name, createDrrPolicy(bundle, config));
    else if (config.kind === 'dqn') {
      // the Q-network gets its own session on the same device settings as the recommender
      const backend = createNodeBackend({ device: options.device ?? 'auto', intraOpNumThreads: options.intraOpNumThreads ?? 1 });
      out.set(name, await createDqnPolicy(bundle, backend, config));
    }
    else out.set(name, createPolicy(config.kind === 'linucb' ? { ...config, dim: config.dim ?? featureDim } : (config as PolicyConfig)));
  }
  return out;
}

/** Reads each bundle file once even though the bundle is parsed twice (for the Recommender and for its ids and vectors). */
function cachingSource(inner: BundleSource): BundleSource {
  const cache = new Map<string, Promise<Uint8Array>>();
  return {
    read(name) {
      let bytes = cache.get(name);
      if (bytes === undefined) {
        bytes = inner.read(name);
        cache.set(name, bytes);
      }
      return bytes;
    },
    describe: () => inner.describe(),
  };
}

async function loadModel(dir: string, options: NodeAppOptions): Promise<{ source: RecommendationSource; bundle: LoadedBundle }> {
  const source = cachingSource(directorySource(dir));
  // The Recommender does not expose its item ids or vectors; the server needs both (events on unknown
  // items, LinUCB features). Same bytes, so the Float32Array views share memory.
  const bundle = await loadBundle(source);
  const recommender = await createRecommender({
    bundle: source,
    device: options.device ?? 'auto',
    index: options.index ?? 'auto',
    ...(options.kg !== undefined ? { kg: options.kg } : {}),
    ...(options.intraOpNumThreads !== undefined ? { intraOpNumThreads: options.intraOpNumThreads } : {}),
  });
  return { source: fromRecommender(recommender, bundle), bundle };
}

/** The starting bundle plus every sub-directory of modelsDir holding a manifest.json. */
function directoryCatalog(bundleDir: string, modelsDir: string | undefined, load: (dir: string) => Promise<RecommendationSource>): ModelCatalog {
  const scan = async (): Promise<Map<string, { dir: string; descriptor: ModelDescriptor }>> => {
    const found = new Map<string, { dir: string; descriptor: ModelDescriptor }>();
    found.set(basename(bundleDir), { dir: bundleDir, descriptor: await describe(basename(bundleDir), bundleDir) });
    if (modelsDir === undefined) return found;
    const root = resolve(modelsDir);
    for (const entry of await readdir(root, { withFileTypes: true })) {
      if (!entry.isDirectory() || found.has(entry.name)) continue;
      const dir = join(root, entry.name);
      if (!(await exists(join(dir, 'manifest.json')))) continue;
      found.set(entry.name, { dir, descriptor: await describe(entry.name, dir) });
    }
    return found;
  };
  return {
    list: async () => [...(await scan()).values()].map((m) => m.descriptor),
    async load(id) {
      const entry = (await scan()).get(id);
      if (entry === undefined) throw new Error(`no bundle named ${id}`);
      return load(entry.dir);
    },
  };
}

/** A listing entry from manifest.json, unverified (verification happens on activation). */
async function describe(id: string, dir: string): Promise<ModelDescriptor> {
  try {
    const manifest = JSON.parse(await readFile(join(dir, 'manifest.json'), 'utf8')) as {
      createdAt?: unknown;
      model?: { kind?: unknown };
      metrics?: unknown;
      dataset?: unknown;
    };
    return { id, kind: manifest.model?.kind, createdAt: manifest.createdAt, metrics: manifest.metrics, dataset: manifest.dataset };
  } catch {
    return { id, unreadable: true };
  }
}

async function exists(path: string): Promise<boolean> {
  try {
    await stat(path);
    return true;
  } catch {
    return false;
  }
}

function processMetrics(): () => Promise<string> {
  const register = new Registry();
  collectDefaultMetrics({ register });
  return () => register.metrics();
}
