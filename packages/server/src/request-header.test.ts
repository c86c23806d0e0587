import { Hono } from 'hono';
import { describe, expect, it } from 'vitest';
import { requestHeader } from './request-header.js';

describe('requestHeader', () => {
  const app = new Hono().get('/', (c) => c.json({ auth: requestHeader(c, 'authorization') ?? null, via: requestHeader(c, 'x-list') ?? null }));

  it("reads node's parsed headers when the node adapter passes the IncomingMessage", async () => {
    const incoming = { headers: { authorization: 'Bearer node', 'x-list': ['a', 'b'] } };
    const res = await app.request('/', { headers: { authorization: 'Bearer web' } }, { incoming });
    expect(await res.json()).toEqual({ auth: 'Bearer node', via: 'a, b' });
  });

  it('falls back to the Request headers elsewhere', async () => {
    const res = await app.request('/', { headers: { authorization: 'Bearer web' } });
    expect(await res.json()).toEqual({ auth: 'Bearer web', via: null });
  });
});
