import type { StorageLike, TrackedEvent } from './types.js';

export interface EventQueue {
  readonly items: readonly TrackedEvent[];
  /** Appends; returns how many of the oldest events the cap pushed out. */
  push(event: TrackedEvent): number;
  /** Removes by eventId, not position: the cap may have shifted the queue while a batch was in flight. */
  remove(events: readonly TrackedEvent[]): void;
}

/**
 * The queue is mirrored to storage after every change so that events survive a reload or a crash;
 * events stay in it until the server acknowledges them, so a page closed mid-request re-sends them
 * (harmless: the server deduplicates by eventId).
 */
export function createEventQueue(
  storage: StorageLike | null,
  key: string,
  cap: number,
  onStorageError: (error: unknown) => void,
): EventQueue & { restoredDropped: number } {
  let items: TrackedEvent[] = [];
  const save = () => {
    if (!storage) return;
    try {
      if (items.length) storage.setItem(key, JSON.stringify(items));
      else storage.removeItem(key);
    } catch (e) {
      onStorageError(e);
    }
  };
  try {
    const raw = storage?.getItem(key);
    const parsed: unknown = raw ? JSON.parse(raw) : [];
    if (Array.isArray(parsed)) {
      items = parsed.filter((e): e is TrackedEvent => !!e && typeof e === 'object' && typeof e.eventId === 'string');
    }
  } catch (e) {
    onStorageError(e);
  }
  const restoredDropped = Math.max(0, items.length - cap);
  items = items.slice(restoredDropped);
  return {
    restoredDropped,
    get items() {
      return items;
    },
    push(event) {
      items.push(event);
      const over = Math.max(0, items.length - cap);
      if (over) items = items.slice(over);
      save();
      return over;
    },
    remove(events) {
      if (!events.length) return;
      const gone = new Set(events.map((e) => e.eventId));
      items = items.filter((e) => !gone.has(e.eventId));
      save();
    },
  };
}
