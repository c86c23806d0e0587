import type { ObserveOptions, RecommendResponse, TastemakerClient, TrackFn } from './types.js';

type Rendered = Parameters<TastemakerClient['trackRendered']>[1];

export function createImpressionHelpers(track: TrackFn, fail: (e: unknown) => void, observers: Set<IntersectionObserver>) {
  const trackRendered = (rec: RecommendResponse, options: Rendered = {}): string[] => {
    try {
      const { render, userId } = options;
      const wanted = typeof render === 'object' ? new Set(render.map((r) => (typeof r === 'string' ? r : r.itemId))) : undefined;
      const shown = typeof render === 'number' ? rec.items.slice(0, render) : rec.items.filter((i) => !wanted || wanted.has(i.itemId));
      return shown.flatMap(
        (item) => track('impression', { userId, itemId: item.itemId, recommId: rec.recommId, position: item.position }) ?? [],
      );
    } catch (e) {
      fail(e);
      return [];
    }
  };

  const observeImpressions = (rec: RecommendResponse, elements: Iterable<Element>, options: ObserveOptions = {}): (() => void) => {
    try {
      const { userId, threshold = 0.5 } = options;
      const itemIdOf = options.itemIdOf ?? ((el: Element) => el.getAttribute('data-item-id'));
      const seen = new Set<string>();
      const record = (id: string) => {
        if (seen.has(id)) return;
        seen.add(id);
        trackRendered(rec, { userId, render: [id] });
      };
      const IO = options.IntersectionObserver ?? (typeof IntersectionObserver === 'function' ? IntersectionObserver : undefined);
      if (!IO) {
        // Without an observer there is no visibility signal; rendering is the best proxy we have.
        for (const el of elements) {
          const id = itemIdOf(el);
          if (id) record(id);
        }
        return () => {};
      }
      const ids = new Map<Element, string>();
      const io = new IO(
        (entries) => {
          for (const e of entries) {
            const id = ids.get(e.target);
            if (id && e.isIntersecting && e.intersectionRatio >= threshold) {
              record(id);
              io.unobserve(e.target);
            }
          }
        },
        { threshold },
      );
      for (const el of elements) {
        const id = itemIdOf(el);
        if (!id) continue;
        ids.set(el, id);
        io.observe(el);
      }
      observers.add(io);
      return () => {
        io.disconnect();
        observers.delete(io);
      };
    } catch (e) {
      fail(e);
      return () => {};
    }
  };

  return { trackRendered, observeImpressions };
}
