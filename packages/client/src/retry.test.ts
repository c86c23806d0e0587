import { describe, expect, it } from 'vitest';
import { backoffDelay, isRetryableStatus, parseRetryAfter, withRetry, type RetryPolicy } from './retry.js';

describe('backoffDelay', () => {
  it('grows exponentially under full jitter and stops at the cap', () => {
    const p = { baseDelay: 100, maxDelay: 1000, random: () => 1 };
    expect([0, 1, 2, 3, 4, 5, 10].map((n) => backoffDelay(n, p))).toEqual([100, 200, 400, 800, 1000, 1000, 1000]);
    expect(backoffDelay(3, { ...p, random: () => 0.25 })).toBe(200);
    expect(backoffDelay(3, { ...p, random: () => 0 })).toBe(0);
  });
});

describe('parseRetryAfter', () => {
  const now = Date.parse('2025-01-01T00:00:00Z');
  it('reads delta-seconds and HTTP dates, ignoring garbage', () => {
    expect(parseRetryAfter('3', now)).toBe(3000);
    expect(parseRetryAfter(' 0 ', now)).toBe(0);
    expect(parseRetryAfter('Wed, 01 Jan 2025 00:00:05 GMT', now)).toBe(5000);
    expect(parseRetryAfter('Tue, 31 Dec 2024 23:00:00 GMT', now)).toBe(0);
    expect(parseRetryAfter('soon', now)).toBeUndefined();
    expect(parseRetryAfter(null, now)).toBeUndefined();
  });
});

describe('isRetryableStatus', () => {
  it('retries 429 and 5xx only', () => {
    expect([200, 400, 401, 404, 413, 429, 500, 503].map(isRetryableStatus)).toEqual([false, false, false, false, false, true, true, true]);
  });
});

describe('withRetry', () => {
  const policy = (sleeps: number[], maxRetries = 3): RetryPolicy => ({
    maxRetries,
    baseDelay: 10,
    maxDelay: 50,
    random: () => 1,
    now: () => 0,
    sleep: async (ms) => void sleeps.push(ms),
  });

  it('returns the last retryable response once retries run out', async () => {
    const sleeps: number[] = [];
    let calls = 0;
    const res = await withRetry(async () => (calls++, new Response(null, { status: 503 })), policy(sleeps));
    expect([calls, res.status, sleeps]).toEqual([4, 503, [10, 20, 40]]);
  });

  it('rethrows the last network error', async () => {
    const sleeps: number[] = [];
    await expect(withRetry(() => Promise.reject(new TypeError('offline')), policy(sleeps, 1))).rejects.toThrow('offline');
    expect(sleeps).toEqual([10]);
  });

  it('gives up early rather than sleep past the deadline', async () => {
    const sleeps: number[] = [];
    const res = await withRetry(async () => new Response(null, { status: 429, headers: { 'retry-after': '60' } }), policy(sleeps), 5000);
    expect([res.status, sleeps]).toEqual([429, []]);
  });
});
