import { describe, expect, it } from 'vitest';
import { createTestApp } from '../../testing/test-app.js';
import { referencePage } from './index.js';

describe('API reference', () => {
  it('serves an OpenAPI 3.1 document covering every route, generated from the validators', async () => {
    const { call } = createTestApp();
    const res = await call('GET', '/openapi.json', undefined, { key: null });
    expect(res.status).toBe(200);
    const doc = (await res.json()) as { openapi: string; paths: Record<string, Record<string, { requestBody?: { content: Record<string, { schema: { properties?: Record<string, unknown> } }> } }>> };
    expect(doc.openapi).toBe('3.1.0');
    expect(Object.keys(doc.paths).sort()).toEqual(
      ['/docs', '/healthz', '/metrics', '/openapi.json', '/readyz', '/v1/events', '/v1/items', '/v1/items/{itemId}', '/v1/models', '/v1/models/{modelId}/activate', '/v1/recommend', '/v1/users/{userId}'].sort(),
    );
    const recommend = doc.paths['/v1/recommend']?.post?.requestBody?.content['application/json']?.schema;
    expect(Object.keys(recommend?.properties ?? {})).toEqual(expect.arrayContaining(['userId', 'history', 'k', 'context', 'filters', 'exclude']));
    const events = doc.paths['/v1/events']?.post?.requestBody?.content['application/json']?.schema as { properties: { events: { items: { properties: Record<string, unknown> } } } };
    expect(Object.keys(events.properties.events.items.properties)).toEqual(expect.arrayContaining(['eventId', 'type', 'userId', 'itemId', 'recommId']));
  });

  it('renders a self-contained HTML page with every value escaped', async () => {
    const { call } = createTestApp();
    const res = await call('GET', '/docs', undefined, { key: null });
    expect(res.headers.get('content-type')).toMatch(/text\/html/);
    const html = await res.text();
    expect(html).toContain('<code>/v1/events</code>');
    expect(html).not.toMatch(/<script/i);
    const hostile = referencePage({ info: { title: '<script>x</script>', version: '1', description: '' }, paths: {} });
    expect(hostile).toContain('&lt;script&gt;x&lt;/script&gt;');
  });
});
