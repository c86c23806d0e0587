import type { Episode, RecEnv } from './env.js';

/** Anything that can rank items from an RL state: DRR actors, and baselines that ignore the state. */
export interface StatePolicy {
  readonly name: string;
  /**
   * Scores [users.length, nItems], higher first, for each row's user and state (row-major
   * [users.length, stateSize], oldest first, STATE_PADDING for empty slots).
   */
  scoreStates(users: Int32Array, states: Int32Array): Promise<Float32Array>;
  /** Optional: called before a rollout's episodes start (clears per-episode memory such as skips). */
  beginEpisodes?(users: Int32Array): void;
  /** Optional: each step's outcome per row — for policies that read skips or learn online (LinUCB). */
  observe?(users: Int32Array, items: Int32Array, rewards: Float32Array, positives: Uint8Array): void;
}

export interface RolloutResult {
  /** undiscounted return of each user's episode, in the order of `users` */
  returns: Float64Array;
  meanReturn: number;
  /** share of steps that found a liked item */
  positiveRate: number;
  steps: number;
}

/**
 * Plays one greedy episode per user (the policy's best unseen item each step) and sums the
 * rewards. Episodes advance in lockstep so the policy scores all live users in one call.
 */
export async function rollout(env: RecEnv, policy: StatePolicy, users: Int32Array): Promise<RolloutResult> {
  const n = env.stateSize;
  const episodes: Episode[] = Array.from(users, (u) => env.reset(u));
  const returns = new Float64Array(users.length);
  let steps = 0;
  let positives = 0;
  policy.beginEpisodes?.(users);
  for (;;) {
    const live: number[] = [];
    episodes.forEach((ep, j) => {
      if (!ep.done) live.push(j);
    });
    if (live.length === 0) break;
    const u = Int32Array.from(live, (j) => episodes[j]!.user);
    const s = new Int32Array(live.length * n);
    live.forEach((j, b) => s.set(episodes[j]!.state, b * n));
    const scores = await policy.scoreStates(u, s);
    const nItems = env.nItems;
    const chosen = new Int32Array(live.length);
    const gained = new Float32Array(live.length);
    const liked = new Uint8Array(live.length);
    live.forEach((j, b) => {
      const ep = episodes[j]!;
      let best = -1;
      let bestScore = -Infinity;
      for (let i = 0; i < nItems; i++) {
        const v = scores[b * nItems + i]!;
        if (v > bestScore && !ep.seen(i)) {
          bestScore = v;
          best = i;
        }
      }
      // nothing unseen left is impossible while the episode runs (the env ends it first)
      const r = ep.step(best);
      returns[j] = returns[j]! + r.reward;
      steps++;
      if (r.positive) positives++;
      chosen[b] = best;
      gained[b] = r.reward;
      liked[b] = r.positive ? 1 : 0;
    });
    policy.observe?.(u, chosen, gained, liked);
  }
  let sum = 0;
  for (const r of returns) sum += r;
  return { returns, meanReturn: users.length > 0 ? sum / users.length : 0, positiveRate: steps > 0 ? positives / steps : 0, steps };
}
