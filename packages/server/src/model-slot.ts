import type { RecommendationSource } from './recommendation-source.js';

interface Held {
  id: string;
  source: RecommendationSource;
  inflight: number;
  retired: boolean;
  disposed: boolean;
}

/**
 * The active model, swapped atomically: a request takes a lease on the model that was active when it
 * began and keeps it to the end; a swap installs the new model for later requests and disposes the
 * old one when its last lease ends. Loading happens before the swap, so a bundle that fails to load
 * never replaces the one serving.
 */
export class ModelSlot {
  private current: Held;
  private swapping: Promise<unknown> = Promise.resolve();

  constructor(id: string, source: RecommendationSource) {
    this.current = { id, source, inflight: 0, retired: false, disposed: false };
  }

  get id(): string {
    return this.current.id;
  }

  get source(): RecommendationSource {
    return this.current.source;
  }

  /** Runs fn with the active model; the model stays alive until fn settles. */
  async use<T>(fn: (source: RecommendationSource, id: string) => Promise<T>): Promise<T> {
    const held = this.current;
    held.inflight++;
    try {
      return await fn(held.source, held.id);
    } finally {
      held.inflight--;
      if (held.retired && held.inflight === 0) await dispose(held);
    }
  }

  /** Loads a model and makes it active; swaps run one at a time. A failed load leaves the active model in place. */
  swap(id: string, load: () => Promise<RecommendationSource>): Promise<void> {
    const run = this.swapping.then(async () => {
      const source = await load();
      const old = this.current;
      this.current = { id, source, inflight: 0, retired: false, disposed: false };
      old.retired = true;
      if (old.inflight === 0) await dispose(old);
    });
    this.swapping = run.catch(() => undefined);
    return run;
  }

  async dispose(): Promise<void> {
    await this.swapping;
    this.current.retired = true;
    if (this.current.inflight === 0) await dispose(this.current);
  }
}

async function dispose(held: Held): Promise<void> {
  if (held.disposed) return;
  held.disposed = true;
  try {
    await held.source.dispose?.();
  } catch {
    // Disposal of a retired model has no caller to report to; the new model is already serving.
  }
}
