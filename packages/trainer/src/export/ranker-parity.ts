/**
 * Parity of an exported ranker graph with its JavaScript reference in both runtimes core serves with
 * (onnxruntime-node, onnxruntime-web wasm). Used by every ranker model's tests; kept out of
 * export/index.ts so the trainer's public API does not pull onnxruntime in.
 */
import { HISTORY_INPUT, ITEM_INDEX_INPUT, RANKER_OUTPUT, USER_INDEX_INPUT } from '@tastemaker/core';
import { ORT_RUNTIMES, type Feed, type OrtRuntime, int64Feed, runModel } from '../onnx/ort-runners.js';
import type { GraphExportOptions } from './graphs.js';
import { exportRankerGraph, referenceRankerScores } from './ranker-graph.js';
import type { RankerExport } from './types.js';

export interface RankerPairs {
  users: Int32Array;
  items: Int32Array;
  /** history rankers: each pair's history as fed (at most historyLength entries; out of range = padding) */
  histories?: readonly Int32Array[];
}

/**
 * Histories for `count` pairs that exercise a history ranker: empty, full, padding in the middle
 * and at the start (-1, nItems, far out of range), and lengths in between.
 */
export function rankerProbeHistories(spec: Pick<RankerExport, 'nItems' | 'historyLength'>, count: number): Int32Array[] {
  const L = spec.historyLength ?? 0;
  const n = spec.nItems;
  return Array.from({ length: count }, (_, b) => {
    const len = b % (L + 1);
    const h = Array.from({ length: len }, (_, t) => (b * 5 + t * 3) % n);
    if (b % 3 === 1 && len >= 2) h[1] = -1;
    if (b % 4 === 2 && len >= 1) h[0] = n + 7;
    return Int32Array.from(h);
  });
}

/** Histories as the [batch, historyLength] input, padded at the end with nItems. */
function historyFeed(histories: readonly Int32Array[], length: number, pad: number): Feed {
  const data = new BigInt64Array(histories.length * length).fill(BigInt(pad));
  histories.forEach((h, b) => {
    for (let t = 0; t < Math.min(length, h.length); t++) data[b * length + t] = BigInt(h[t] ?? pad);
  });
  return { data, dims: [histories.length, length] };
}

/**
 * Pairs that exercise the whole contract: every item at least once, known users spread over the
 * table, unknown users as nUsers, -1 and far out of range, and out-of-range items (-1, nItems).
 */
export function rankerProbePairs(spec: Pick<RankerExport, 'nUsers' | 'nItems'>): RankerPairs {
  const users: number[] = [];
  const items: number[] = [];
  const unknown = [spec.nUsers, -1, spec.nUsers + 11];
  for (let i = 0; i < spec.nItems; i++) {
    users.push(spec.nUsers > 0 && i % 4 !== 3 ? (i * 7) % spec.nUsers : (unknown[i % unknown.length] ?? -1));
    items.push(i);
  }
  for (const u of unknown) {
    users.push(u);
    items.push(spec.nItems - 1);
  }
  users.push(0, 0);
  items.push(-1, spec.nItems);
  return { users: Int32Array.from(users), items: Int32Array.from(items) };
}

export interface RankerParityResult {
  reference: Float32Array;
  /** per runtime: the graph's scores and the worst |graph − reference| / max(1, |reference|) */
  runtimes: Record<OrtRuntime, { scores: Float32Array; maxError: number }>;
}

/**
 * Error scaled by max(1, |reference|): float32 logits of magnitude 100 carry ~1e-5 of rounding on
 * their own, so an absolute tolerance alone would punish large but correct scores. Equal infinities
 * (masked items) count as exact; a NaN or a finite/infinite mismatch counts as Infinity.
 */
function scaledError(actual: Float32Array, expected: Float32Array): number {
  if (actual.length !== expected.length) return Number.POSITIVE_INFINITY;
  let worst = 0;
  for (let k = 0; k < actual.length; k++) {
    const a = actual[k] ?? Number.NaN;
    const e = expected[k] ?? Number.NaN;
    if (a === e) continue;
    if (!Number.isFinite(a) || !Number.isFinite(e)) return Number.POSITIVE_INFINITY;
    worst = Math.max(worst, Math.abs(a - e) / Math.max(1, Math.abs(e)));
  }
  return worst;
}

/** Exports `spec`, runs it on `pairs` in each runtime and compares with `referenceRankerScores`. */
export async function rankerParity(
  spec: RankerExport,
  pairs: RankerPairs = rankerProbePairs(spec),
  options: GraphExportOptions = {},
): Promise<RankerParityResult> {
  const graph = exportRankerGraph(spec, options);
  const histories = spec.historyLength !== undefined ? (pairs.histories ?? rankerProbeHistories(spec, pairs.users.length)) : undefined;
  const reference = referenceRankerScores(spec, pairs.users, pairs.items, histories);
  const feeds: Record<string, Feed> = { [USER_INDEX_INPUT]: int64Feed(pairs.users), [ITEM_INDEX_INPUT]: int64Feed(pairs.items) };
  if (histories && spec.historyLength !== undefined) feeds[HISTORY_INPUT] = historyFeed(histories, spec.historyLength, spec.nItems);
  const runtimes = {} as RankerParityResult['runtimes'];
  for (const runtime of ORT_RUNTIMES) {
    const out = await runModel(runtime, graph.bytes, feeds, [RANKER_OUTPUT]);
    const scores = out[RANKER_OUTPUT]?.data ?? new Float32Array(0);
    runtimes[runtime] = { scores, maxError: scaledError(scores, reference) };
  }
  return { reference, runtimes };
}
