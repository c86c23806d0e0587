import {
  createPolicy,
  GreedyPolicy,
  OnlineLearner,
  TastemakerError,
  type OnlineLearnerOptions,
  type Policy,
  type RewardMapConfig,
  type Store,
} from '@tastemaker/core/edge';
import type { ApiKeys } from './auth.js';
import { CandidateCache, type CandidateCacheOptions } from './candidate-cache.js';
import { createConsoleLogger, type Logger } from './logger.js';
import { createTextMetrics, type Metrics } from './metrics.js';
import { ModelSlot } from './model-slot.js';
import { uuidV7 } from './recomm-id.js';
import type { RecommendationSource } from './recommendation-source.js';

export interface Clock {
  /** ms since the epoch */
  now(): number;
}

export interface ModelDescriptor {
  id: string;
  [key: string]: unknown;
}

/** Models the server may switch to, by id (e.g. the bundle directories under a models folder). */
export interface ModelCatalog {
  list(): Promise<ModelDescriptor[]>;
  /** Loads and verifies a model; throws (e.g. core's BundleError) when it cannot serve. */
  load(id: string): Promise<RecommendationSource>;
}

export interface CorsOptions {
  /** Allowed origins: "*" (default), one origin, or a list. */
  origin: string | string[];
  /** Seconds a browser may cache a preflight answer. Default 600. */
  maxAge?: number;
}

export interface AppDeps {
  /** The model serving at start. */
  recommender: RecommendationSource;
  /** Id of that model in /v1/models. Default: its modelId. */
  modelId?: string;
  models?: ModelCatalog;
  store: Store;
  /** Policies by name. Default: { greedy }. */
  policies?: Record<string, Policy> | ReadonlyMap<string, Policy>;
  /** Policy for requests that name none and that assignPolicy leaves unassigned. Default: the first policy. */
  defaultPolicy?: string;
  /** Splits traffic between policies (A/B); undefined falls back to defaultPolicy. */
  assignPolicy?: (request: { userId?: string | undefined }) => string | undefined;
  rewards?: RewardMapConfig;
  clock?: Clock;
  logger?: Logger;
  keys?: ApiKeys;
  /** false turns CORS headers off. Default { origin: '*' }: keys travel in headers, never cookies. */
  cors?: CorsOptions | false;
  /** Largest request body in bytes. Default 1 MiB. */
  bodyLimit?: number;
  /** Most events in one POST /v1/events. Default 1000. */
  maxEventsPerRequest?: number;
  /** Largest k. Default 100. */
  maxK?: number;
  /** Candidates a bandit chooses k from. Default 50 (at least k). */
  candidatePool?: number;
  /** Recent items of a user fed to the model as live history. Default 50. */
  historyLength?: number;
  metrics?: Metrics;
  /** Id generator for recommendations. Default uuidV7: time-ordered, so the recommendation log appends. */
  newId?: () => string;
  /**
   * Per-user candidate cache (see CandidateCache): a user asking again before their history, the
   * catalogue or the model changed reuses the model's candidates; the policy still runs per request.
   * Default { maxUsers: 10000 }; false computes candidates on every request.
   */
  candidateCache?: CandidateCacheOptions | false;
  /**
   * Background learning of policies that have it (DRR): slice length and checkpoint interval (see
   * core's BackgroundTrainer). Their updates run between requests, and their state is written as
   * periodic checkpoints rather than with each events request.
   */
  learning?: OnlineLearnerOptions['background'];
}

export interface ServerContext {
  readonly store: Store;
  readonly slot: ModelSlot;
  readonly models: ModelCatalog | undefined;
  readonly policies: ReadonlyMap<string, Policy>;
  readonly defaultPolicy: string;
  readonly assignPolicy: ((request: { userId?: string | undefined }) => string | undefined) | undefined;
  readonly learner: OnlineLearner;
  readonly clock: Clock;
  readonly logger: Logger;
  readonly keys: ApiKeys;
  readonly cors: CorsOptions | false;
  readonly metrics: Metrics;
  readonly newId: () => string;
  /** undefined when the cache is off. */
  readonly candidates: CandidateCache | undefined;
  readonly limits: { bodyBytes: number; eventsPerRequest: number; maxK: number; candidatePool: number; historyLength: number };
  /** Settles when stored policy state is loaded; routes that touch policies wait on it. */
  readonly ready: Promise<void>;
  isReady(): boolean;
}

export function createContext(deps: AppDeps): ServerContext {
  const policies = new Map<string, Policy>(
    deps.policies === undefined
      ? [['greedy', new GreedyPolicy()]]
      : deps.policies instanceof Map
        ? deps.policies
        : Object.entries(deps.policies as Record<string, Policy>),
  );
  if (policies.size === 0) policies.set('greedy', createPolicy({ kind: 'greedy' }));
  const defaultPolicy = deps.defaultPolicy ?? (policies.keys().next().value as string);
  if (!policies.has(defaultPolicy)) {
    throw new TastemakerError(
      'INVALID_CONFIG',
      `Invalid defaultPolicy: ${JSON.stringify(defaultPolicy)}. Valid values: ${[...policies.keys()].map((k) => JSON.stringify(k)).join(', ')}.`,
      { option: 'defaultPolicy' },
    );
  }
  const positive = (name: string, value: number | undefined, fallback: number) => {
    const v = value ?? fallback;
    if (!Number.isInteger(v) || v <= 0) throw new TastemakerError('INVALID_CONFIG', `${name} must be a positive integer, got ${String(v)}`, { option: name });
    return v;
  };
  const clock = deps.clock ?? { now: () => Date.now() };
  const logger = deps.logger ?? createConsoleLogger();
  const slot = new ModelSlot(deps.modelId ?? deps.recommender.modelId, deps.recommender);
  const store = deps.store;
  const learner = new OnlineLearner({
    store,
    policies,
    ...(deps.rewards !== undefined ? { rewards: deps.rewards } : {}),
    itemFeatures: (itemId) => slot.source.itemFeatures?.(itemId),
    now: () => clock.now(),
    background: {
      ...deps.learning,
      onError: (error, info) => {
        deps.learning?.onError?.(error, info);
        logger.error(info.during === 'work' ? 'background policy update failed' : 'policy checkpoint failed', { policy: info.policy, error });
      },
    },
  });
  const metrics = deps.metrics ?? createTextMetrics();
  if (learner.background.active) metrics.observeLearning?.(() => learner.background.stats());

  let ready = false;
  const restoring = learner.restore().then((results) => {
    for (const [name, result] of results) {
      if (result.skipped !== undefined) logger.warn('policy state not restored', { policy: name, reason: result.skipped });
      else if (result.loaded > 0) logger.info('policy state restored', { policy: name, entries: result.loaded });
    }
    ready = true;
  });
  // Logged once here; routes that await `ready` turn the rejection into 503 NOT_READY.
  restoring.catch((error: unknown) => logger.error('could not load policy state', { error }));

  return {
    store,
    slot,
    models: deps.models,
    policies,
    defaultPolicy,
    assignPolicy: deps.assignPolicy,
    learner,
    clock,
    logger,
    keys: deps.keys ?? {},
    cors: deps.cors ?? { origin: '*' },
    metrics,
    newId: deps.newId ?? (() => uuidV7()),
    candidates: deps.candidateCache === false ? undefined : new CandidateCache(deps.candidateCache ?? {}),
    limits: {
      bodyBytes: positive('bodyLimit', deps.bodyLimit, 1024 * 1024),
      eventsPerRequest: positive('maxEventsPerRequest', deps.maxEventsPerRequest, 1000),
      maxK: positive('maxK', deps.maxK, 100),
      candidatePool: positive('candidatePool', deps.candidatePool, 50),
      historyLength: positive('historyLength', deps.historyLength, 50),
    },
    ready: restoring,
    isReady: () => ready,
  };
}
