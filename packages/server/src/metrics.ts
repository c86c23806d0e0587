/**
 * Prometheus metrics without prom-client: prom-client reads process and perf_hooks state at import,
 * so it cannot run in the edge build. The text exposition format is small (counters, a gauge, one
 * histogram family) and written here by hand; the node entry may append prom-client's process
 * metrics through `extraText`.
 */
import type { BackgroundPolicyStats } from '@tastemaker/core/edge';

export interface Metrics {
  observeRequest(labels: { method: string; route: string; status: number }, seconds: number): void;
  countEvents(type: string, outcome: 'accepted' | 'duplicate' | 'rejected', n?: number): void;
  countRecommendation(policy: string, model: string): void;
  /** Feedback credited to a policy: `trials` new impressions counted, `clicks` first clicks on them. */
  countFeedback(policy: string, trials: number, clicks: number): void;
  countLearnFailure(): void;
  /** A recommend request's candidates: from the per-user cache (hit), computed and cached (miss), or computed because the request cannot use the cache (bypass). */
  countCandidates?(result: 'hit' | 'miss' | 'bypass'): void;
  /** Where background learning stands (queued and dropped updates, checkpoints), read at each render. */
  observeLearning?(source: () => ReadonlyMap<string, LearningStats>): void;
  readonly contentType: string;
  render(): Promise<string>;
}

/** One policy's background learning, as core's BackgroundTrainer reports it (the counts /metrics shows). */
export type LearningStats = Pick<BackgroundPolicyStats, 'pending' | 'updates' | 'dropped' | 'checkpoints'>;

export const LATENCY_BUCKETS = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5];

type Labels = Record<string, string>;

class LabelledCounter {
  readonly values = new Map<string, { labels: Labels; value: number }>();

  inc(labels: Labels, by = 1): void {
    const key = labelKey(labels);
    const entry = this.values.get(key) ?? { labels, value: 0 };
    entry.value += by;
    this.values.set(key, entry);
  }
}

class LabelledHistogram {
  readonly values = new Map<string, { labels: Labels; buckets: number[]; sum: number; count: number }>();

  constructor(readonly bounds: readonly number[]) {}

  observe(labels: Labels, value: number): void {
    const key = labelKey(labels);
    let entry = this.values.get(key);
    if (entry === undefined) {
      entry = { labels, buckets: this.bounds.map(() => 0), sum: 0, count: 0 };
      this.values.set(key, entry);
    }
    for (let i = 0; i < this.bounds.length; i++) if (value <= (this.bounds[i] as number)) entry.buckets[i] = (entry.buckets[i] as number) + 1;
    entry.sum += value;
    entry.count += 1;
  }
}

export interface TextMetricsOptions {
  /** Prefix of every metric name. Default "tastemaker". */
  prefix?: string;
  /** More exposition text to append (e.g. prom-client's default process metrics in node). */
  extraText?: () => Promise<string> | string;
}

export function createTextMetrics(options: TextMetricsOptions = {}): Metrics {
  const p = options.prefix ?? 'tastemaker';
  const latency = new LabelledHistogram(LATENCY_BUCKETS);
  const events = new LabelledCounter();
  const recommendations = new LabelledCounter();
  const trials = new LabelledCounter();
  const clicks = new LabelledCounter();
  let learnFailures = 0;
  const candidates = { hit: 0, miss: 0, bypass: 0 };
  let learning: (() => ReadonlyMap<string, LearningStats>) | undefined;

  return {
    contentType: 'text/plain; version=0.0.4; charset=utf-8',
    observeRequest: (labels, seconds) => latency.observe({ method: labels.method, route: labels.route, status: String(labels.status) }, seconds),
    countEvents: (type, outcome, n = 1) => events.inc({ type, outcome }, n),
    countRecommendation: (policy, model) => recommendations.inc({ policy, model }),
    countFeedback: (policy, t, c) => {
      if (t > 0) trials.inc({ policy }, t);
      if (c > 0) clicks.inc({ policy }, c);
    },
    countLearnFailure: () => {
      learnFailures++;
    },
    countCandidates: (result) => {
      candidates[result]++;
    },
    observeLearning: (source) => {
      learning = source;
    },
    async render() {
      const lines: string[] = [];
      const family = (name: string, type: string, help: string) => lines.push(`# HELP ${name} ${help}`, `# TYPE ${name} ${type}`);

      family(`${p}_http_request_duration_seconds`, 'histogram', 'HTTP request latency by route.');
      for (const { labels, buckets, sum, count } of latency.values.values()) {
        latency.bounds.forEach((le, i) => lines.push(`${p}_http_request_duration_seconds_bucket${fmt({ ...labels, le: String(le) })} ${buckets[i]}`));
        lines.push(`${p}_http_request_duration_seconds_bucket${fmt({ ...labels, le: '+Inf' })} ${count}`);
        lines.push(`${p}_http_request_duration_seconds_sum${fmt(labels)} ${sum}`);
        lines.push(`${p}_http_request_duration_seconds_count${fmt(labels)} ${count}`);
      }
      counter(lines, family, `${p}_events_total`, 'Events received, by type and outcome (accepted, duplicate, rejected).', events);
      counter(lines, family, `${p}_recommendations_total`, 'Recommendations served, by policy and model.', recommendations);
      counter(lines, family, `${p}_impressions_total`, 'Impressions credited to a policy by feedback (each counted once).', trials);
      counter(lines, family, `${p}_clicks_total`, 'Impressions that received a click, by policy.', clicks);
      family(`${p}_ctr`, 'gauge', 'Clicks over credited impressions, by policy.');
      for (const { labels, value } of trials.values.values()) {
        const c = clicks.values.get(labelKey(labels))?.value ?? 0;
        lines.push(`${p}_ctr${fmt(labels)} ${value > 0 ? c / value : 0}`);
      }
      family(`${p}_learn_failures_total`, 'counter', 'Event batches stored but not learned from because an update failed.');
      lines.push(`${p}_learn_failures_total ${learnFailures}`);
      family(`${p}_candidate_cache_total`, 'counter', 'Recommend requests by where their candidates came from: the per-user cache (hit), the model with the answer cached (miss), or the model for a request the cache cannot serve (bypass).');
      for (const [result, n] of Object.entries(candidates)) lines.push(`${p}_candidate_cache_total{result="${result}"} ${n}`);
      if (learning !== undefined) {
        const stats = [...learning()];
        const series = (name: string, type: string, help: string, pick: (s: LearningStats) => number) => {
          family(`${p}_${name}`, type, help);
          for (const [policy, s] of stats) lines.push(`${p}_${name}${fmt({ policy })} ${pick(s)}`);
        };
        series('policy_pending_updates', 'gauge', 'Background policy updates queued and not yet run.', (s) => s.pending);
        series('policy_updates_total', 'counter', 'Background policy updates run (restored state included).', (s) => s.updates);
        series('policy_dropped_updates_total', 'counter', 'Background policy updates dropped because the queue was at its cap.', (s) => s.dropped);
        series('policy_checkpoints_total', 'counter', 'Policy state checkpoints written since start.', (s) => s.checkpoints);
      }
      const extra = options.extraText === undefined ? '' : await options.extraText();
      return `${lines.join('\n')}\n${extra}`;
    },
  };
}

function counter(lines: string[], family: (n: string, t: string, h: string) => void, name: string, help: string, c: LabelledCounter): void {
  family(name, 'counter', help);
  for (const { labels, value } of c.values.values()) lines.push(`${name}${fmt(labels)} ${value}`);
}

/** Each family always sets the same label names in the same order, so the values alone identify a series (cheaper than JSON on every request). */
function labelKey(labels: Labels): string {
  let key = '';
  for (const name in labels) key += `${labels[name] as string}\u0000`;
  return key;
}

/** Label values escaped as the exposition format requires (backslash, quote, newline). */
function fmt(labels: Labels): string {
  const parts = Object.entries(labels).map(([k, v]) => `${k}="${v.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n')}"`);
  return parts.length ? `{${parts.join(',')}}` : '';
}
