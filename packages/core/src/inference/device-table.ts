import { TastemakerError, invalidConfig } from '../errors/index.js';

/** Device name → execution providers to try, in order (one table per runtime, as transformers.js does). */
export type DeviceTable = Readonly<Record<string, readonly string[]>>;

export interface ProviderAttempt {
  readonly provider: string;
  readonly reason: string;
}

/** Looks a device up in its table; an unknown name fails at construction listing the valid ones. */
export function providersFor(table: DeviceTable, device: unknown): readonly string[] {
  if (typeof device === 'string' && Object.hasOwn(table, device)) return table[device] as readonly string[];
  throw invalidConfig('device', device, Object.keys(table));
}

export function deviceUnavailable(runtime: string, device: string, attempts: readonly ProviderAttempt[]): TastemakerError {
  const tried = attempts.map((a) => `${a.provider} (${a.reason})`).join('; ');
  return new TastemakerError(
    'DEVICE_UNAVAILABLE',
    `No execution provider for device "${device}" is available in ${runtime}. Tried: ${tried}.`,
    { runtime, device, tried: attempts.map((a) => ({ ...a })) },
  );
}

export interface ProviderProbe<S> {
  /** Why the provider cannot run here, or undefined when it may be tried. Cheap, no session. */
  unavailable(provider: string): string | undefined;
  /** Creates a session on exactly this provider. */
  create(provider: string): Promise<S>;
  /** Whether a creation failure means the provider is unusable (try the next) rather than a bad model. */
  isProviderFailure(provider: string, error: unknown): boolean;
}

/**
 * Walks a device's providers in order. The first provider that creates a session is remembered by
 * the caller so later graphs skip the probing; a failure on the last resort (cpu / wasm) is the
 * model's fault and is rethrown as is.
 */
export async function createOnFirstAvailable<S>(
  runtime: string,
  device: string,
  providers: readonly string[],
  probe: ProviderProbe<S>,
): Promise<{ session: S; provider: string }> {
  const attempts: ProviderAttempt[] = [];
  for (const provider of providers) {
    const reason = probe.unavailable(provider);
    if (reason !== undefined) {
      attempts.push({ provider, reason });
      continue;
    }
    try {
      return { session: await probe.create(provider), provider };
    } catch (error) {
      if (!probe.isProviderFailure(provider, error)) throw error;
      attempts.push({ provider, reason: error instanceof Error ? error.message : String(error) });
    }
  }
  throw deviceUnavailable(runtime, device, attempts);
}
