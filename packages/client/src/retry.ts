export interface RetryPolicy {
  maxRetries: number;
  baseDelay: number;
  maxDelay: number;
  random: () => number;
  now: () => number;
  sleep: (ms: number) => Promise<void>;
}

/** Only these are worth repeating: the server may recover, while other 4xx would fail forever. */
export const isRetryableStatus = (status: number): boolean => status === 429 || status >= 500;

/** Full jitter (AWS architecture blog): spreads a thundering herd better than equal or no jitter. */
export const backoffDelay = (attempt: number, p: Pick<RetryPolicy, 'baseDelay' | 'maxDelay' | 'random'>): number =>
  p.random() * Math.min(p.maxDelay, p.baseDelay * 2 ** attempt);

/** `Retry-After` is either delta-seconds or an HTTP date; returns milliseconds, or undefined if absent/garbled. */
export function parseRetryAfter(value: string | null | undefined, now: number): number | undefined {
  if (!value) return undefined;
  const v = value.trim();
  if (/^\d+(\.\d+)?$/.test(v)) return Number(v) * 1000;
  const at = Date.parse(v);
  return Number.isNaN(at) ? undefined : Math.max(0, at - now);
}

/**
 * Runs `attempt` until it yields a final response or the retries (or the deadline) run out.
 * The last retryable response is returned, the last network error rethrown, so callers classify once.
 */
export async function withRetry(attempt: () => Promise<Response>, p: RetryPolicy, deadline = Infinity): Promise<Response> {
  for (let n = 0; ; n++) {
    let res: Response | undefined;
    let error: unknown;
    try {
      res = await attempt();
      if (!isRetryableStatus(res.status)) return res;
    } catch (e) {
      error = e;
    }
    const wait = parseRetryAfter(res?.headers.get('retry-after'), p.now()) ?? backoffDelay(n, p);
    if (n >= p.maxRetries || p.now() + wait >= deadline) {
      if (res) return res;
      throw error;
    }
    await p.sleep(wait);
  }
}
