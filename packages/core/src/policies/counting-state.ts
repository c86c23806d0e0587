import type { PolicyStateEntry } from '../store/types.js';
import type { StateImport } from './types.js';

/** Trials and total reward per item: the whole state of the non-contextual bandits. */
export class ItemCounts {
  private readonly counts = new Map<string, { n: number; s: number }>();

  get(itemId: string): { n: number; s: number } | undefined {
    return this.counts.get(itemId);
  }

  add(itemId: string, trials: number, reward: number): string {
    const c = this.counts.get(itemId) ?? { n: 0, s: 0 };
    c.n += trials;
    c.s += reward;
    this.counts.set(itemId, c);
    return ITEM_PREFIX + itemId;
  }

  export(kind: string, keys?: Iterable<string>): Map<string, PolicyStateEntry> {
    const out = new Map<string, PolicyStateEntry>();
    const wanted = keys === undefined ? undefined : new Set(keys);
    if (wanted === undefined || wanted.has(META_KEY)) out.set(META_KEY, { json: { kind, version: 1 } });
    for (const [id, c] of this.counts) {
      const key = ITEM_PREFIX + id;
      if (wanted === undefined || wanted.has(key)) out.set(key, { json: [c.n, c.s] });
    }
    return out;
  }

  import(kind: string, entries: Iterable<readonly [string, PolicyStateEntry]>): StateImport {
    const parsed = new Map<string, { n: number; s: number }>();
    for (const [key, entry] of entries) {
      if (key === META_KEY) {
        const meta = entry.json as { kind?: unknown } | undefined;
        if (meta?.kind !== kind) return { loaded: 0, skipped: `stored state is for ${JSON.stringify(meta?.kind)}, not ${kind}` };
        continue;
      }
      if (!key.startsWith(ITEM_PREFIX)) continue;
      const v = entry.json;
      if (Array.isArray(v) && typeof v[0] === 'number' && typeof v[1] === 'number' && Number.isFinite(v[0]) && Number.isFinite(v[1])) {
        parsed.set(key.slice(ITEM_PREFIX.length), { n: v[0], s: v[1] });
      }
    }
    this.counts.clear();
    for (const [id, c] of parsed) this.counts.set(id, c);
    return { loaded: parsed.size };
  }
}

export const META_KEY = 'meta';
export const ITEM_PREFIX = 'item:';
