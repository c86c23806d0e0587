import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { createClient, type RecommendResponse } from './index.js';
import { fakeServer, seeded } from './test-helpers.js';

const rec: RecommendResponse = {
  recommId: 'r1',
  model: 'ease',
  policy: 'epsilon-greedy',
  items: ['a', 'b', 'c', 'd'].map((itemId, position) => ({ itemId, score: 1 - position / 10, propensity: 0.9, position })),
};

function setup() {
  const server = fakeServer();
  const errors: string[] = [];
  const client = createClient({ endpoint: 'https://api.test', userId: 'u1', fetch: server.fetch, storage: null, random: seeded(), onError: (e) => void errors.push(e.code) });
  const sent = async () => {
    await client.flush();
    return server.calls.flatMap((c) => c.body.events ?? []).map((e) => [e.type, e.itemId, e.recommId, e.position, e.userId]);
  };
  return { client, sent, errors };
}

const element = (id: string | null) => ({ getAttribute: (name: string) => (name === 'data-item-id' ? id : null) }) as unknown as Element;

/** Stands in for the browser's observer: the test decides when elements become visible. */
class FakeObserver {
  static last: FakeObserver | undefined;
  observed = new Set<Element>();
  disconnected = false;
  constructor(
    readonly callback: (entries: Array<Pick<IntersectionObserverEntry, 'target' | 'isIntersecting' | 'intersectionRatio'>>) => void,
    readonly init: IntersectionObserverInit,
  ) {
    FakeObserver.last = this;
  }
  observe(el: Element) {
    this.observed.add(el);
  }
  unobserve(el: Element) {
    this.observed.delete(el);
  }
  disconnect() {
    this.disconnected = true;
  }
  show(el: Element, ratio: number) {
    this.callback([{ target: el, isIntersecting: ratio > 0, intersectionRatio: ratio }]);
  }
}
const IO = FakeObserver as unknown as typeof IntersectionObserver;

beforeEach(() => void vi.useFakeTimers());
afterEach(() => void vi.useRealTimers());

describe('trackRendered', () => {
  it('records an impression with recommId and position for each rendered item', async () => {
    const { client, sent } = setup();
    expect(client.trackRendered(rec)).toHaveLength(4);
    client.trackRendered(rec, { render: 2, userId: 'u2' });
    client.trackRendered(rec, { render: ['d', { itemId: 'b' }, 'zz'] });
    expect(await sent()).toEqual([
      ['impression', 'a', 'r1', 0, 'u1'],
      ['impression', 'b', 'r1', 1, 'u1'],
      ['impression', 'c', 'r1', 2, 'u1'],
      ['impression', 'd', 'r1', 3, 'u1'],
      ['impression', 'a', 'r1', 0, 'u2'],
      ['impression', 'b', 'r1', 1, 'u2'],
      ['impression', 'b', 'r1', 1, 'u1'],
      ['impression', 'd', 'r1', 3, 'u1'],
    ]);
  });

  it('never throws on a malformed recommendation', () => {
    const { client, errors } = setup();
    expect(client.trackRendered(null as never)).toEqual([]);
    expect(client.trackRendered({ items: [{}] } as never)).toEqual([]);
    expect(errors).toEqual(['INVALID_ARGUMENT', 'INVALID_ARGUMENT']);
  });
});

describe('observeImpressions', () => {
  it('records each item once, when enough of its element is visible', async () => {
    const { client, sent } = setup();
    const els = ['a', 'b', 'c'].map(element);
    const [a, b] = els as [Element, Element];
    const stop = client.observeImpressions(rec, [...els, element(null)], { IntersectionObserver: IO, threshold: 0.5 });
    const io = FakeObserver.last!;
    expect(io.init.threshold).toBe(0.5);
    expect(io.observed.size).toBe(3);
    io.show(a, 0.2);
    io.show(b, 0.6);
    io.show(b, 1);
    io.show(a, 0.5);
    expect(io.observed.size).toBe(1);
    expect(await sent()).toEqual([
      ['impression', 'b', 'r1', 1, 'u1'],
      ['impression', 'a', 'r1', 0, 'u1'],
    ]);
    stop();
    expect(io.disconnected).toBe(true);
  });

  it('records immediately when IntersectionObserver is unavailable', async () => {
    const { client, sent } = setup();
    vi.stubGlobal('IntersectionObserver', undefined);
    client.observeImpressions(rec, ['c', 'a', 'c'].map(element));
    vi.unstubAllGlobals();
    expect(await sent()).toEqual([
      ['impression', 'c', 'r1', 2, 'u1'],
      ['impression', 'a', 'r1', 0, 'u1'],
    ]);
  });

  it('disconnects observers on dispose', () => {
    const { client } = setup();
    client.observeImpressions(rec, [element('a')], { IntersectionObserver: IO });
    client.dispose();
    expect(FakeObserver.last?.disconnected).toBe(true);
  });
});
