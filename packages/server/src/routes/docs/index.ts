import { Hono } from 'hono';
import { openApiDocument } from '../../openapi.js';

export function docsRoutes() {
  return new Hono()
    .get('/openapi.json', (c) => c.json(openApiDocument(), 200))
    .get('/docs', (c) => c.html(referencePage(openApiDocument())));
}

interface DocOperation {
  summary?: string;
  'x-tastemaker-access'?: string;
  parameters?: { name: string; in: string; required?: boolean; description?: string }[];
  requestBody?: { content: Record<string, { schema: unknown }> };
  responses: Record<string, { description: string; content?: Record<string, { schema: unknown }> }>;
}

/**
 * The API reference as one self-contained page: no CDN scripts, so it works offline and leaks
 * nothing to third parties. Every value from the document is HTML-escaped.
 */
export function referencePage(doc: Record<string, unknown>): string {
  const paths = doc.paths as Record<string, Record<string, DocOperation>>;
  const info = doc.info as { title: string; version: string; description: string };
  const sections: string[] = [];
  for (const [path, methods] of Object.entries(paths)) {
    for (const [method, op] of Object.entries(methods)) {
      const access = op['x-tastemaker-access'] ?? 'none';
      const params = (op.parameters ?? [])
        .map((p) => `<li><code>${esc(p.name)}</code> (${esc(p.in)}${p.required ? ', required' : ''})${p.description ? ` — ${esc(p.description)}` : ''}</li>`)
        .join('');
      const body = op.requestBody?.content['application/json']?.schema;
      const responses = Object.entries(op.responses)
        .map(([status, r]) => {
          const schema = r.content?.['application/json']?.schema;
          return `<li><b>${esc(status)}</b> ${esc(r.description)}${schema && status.startsWith('2') ? `<pre>${esc(JSON.stringify(schema, null, 2))}</pre>` : ''}</li>`;
        })
        .join('');
      sections.push(`<section id="${esc(`${method}-${path}`)}">
<h2><span class="m ${esc(method)}">${esc(method.toUpperCase())}</span> <code>${esc(path)}</code></h2>
<p>${esc(op.summary ?? '')}</p>
<p class="access">Key: ${access === 'none' ? 'none needed' : access === 'publishable' ? 'publishable or secret' : 'secret'}</p>
${params ? `<h3>Parameters</h3><ul>${params}</ul>` : ''}
${body ? `<h3>Request body</h3><pre>${esc(JSON.stringify(body, null, 2))}</pre>` : ''}
<h3>Responses</h3><ul>${responses}</ul>
</section>`);
    }
  }
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>${esc(info.title)} API reference</title>
<style>
body{font:15px/1.5 system-ui,sans-serif;max-width:960px;margin:2rem auto;padding:0 1rem;color:#222}
section{border-top:1px solid #ddd;padding:.5rem 0}
pre{background:#f6f6f6;padding:.75rem;overflow:auto;font-size:13px}
.m{display:inline-block;min-width:4.5em;font-size:.8em;padding:.1em .4em;border-radius:3px;color:#fff;background:#555;text-align:center}
.get{background:#2b7a3d}.post{background:#1f5fa8}.put{background:#9a6a00}.patch{background:#7a4aa0}.delete{background:#a83232}
.access{color:#666;font-size:.9em}
</style></head><body>
<h1>${esc(info.title)} API <small>${esc(info.version)}</small></h1>
<p>${esc(info.description)}</p>
<p>Machine-readable: <a href="/openapi.json">/openapi.json</a> (OpenAPI 3.1).</p>
${sections.join('\n')}
</body></html>`;
}

function esc(s: string): string {
  return s.replace(/[&<>"']/g, (ch) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[ch] as string);
}
