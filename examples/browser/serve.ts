/**
 * A static server for the browser example: the page under /examples/browser/ and the client's built
 * bundle under /packages/client/dist/, the same URL layout as the repository, so the page's import
 * map resolves whether it is served by this script, by the e2e test or by any static server started
 * at the repository root. Nothing else in the repository is served.
 *
 *   npx tsx examples/browser/serve.ts [--port 5173]
 */
import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { extname, join, resolve, sep } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';

const REPO = fileURLToPath(new URL('../../', import.meta.url));

const MIME: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.map': 'application/json; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.ico': 'image/x-icon',
};

export interface ExampleServerOptions {
  /** Default 5173; 0 picks a free port. */
  port?: number;
  /** Default 127.0.0.1: this is a development server. */
  host?: string;
  /** Folder served as /packages/client/dist/. Default the repository's packages/client/dist. */
  clientDist?: string;
}

export interface ExampleServer {
  /** Origin, e.g. http://127.0.0.1:5173 */
  origin: string;
  /** The page's URL. */
  pageUrl: string;
  close(): Promise<void>;
}

export async function serveExample(options: ExampleServerOptions = {}): Promise<ExampleServer> {
  const mounts: ReadonlyArray<readonly [prefix: string, dir: string]> = [
    ['/examples/browser/', join(REPO, 'examples/browser')],
    ['/packages/client/dist/', resolve(options.clientDist ?? join(REPO, 'packages/client/dist'))],
  ];
  const server = createServer((req, res) => {
    handle(mounts, req, res).catch(() => send(res, 500, 'internal error'));
  });
  const host = options.host ?? '127.0.0.1';
  await new Promise<void>((done, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 5173, host, () => done());
  });
  const origin = `http://${host}:${(server.address() as AddressInfo).port}`;
  return {
    origin,
    pageUrl: `${origin}/examples/browser/`,
    close: () =>
      new Promise<void>((done) => {
        server.close(() => done());
        // Browsers keep connections alive; without this close() waits for them to time out.
        server.closeAllConnections();
      }),
  };
}

async function handle(mounts: ReadonlyArray<readonly [string, string]>, req: IncomingMessage, res: ServerResponse): Promise<void> {
  if (req.method !== 'GET' && req.method !== 'HEAD') return send(res, 405, 'method not allowed');
  let path: string;
  try {
    path = decodeURIComponent(new URL(req.url ?? '/', 'http://localhost').pathname);
  } catch {
    return send(res, 400, 'bad request path');
  }
  if (path === '/' || path === '/examples/browser') {
    res.writeHead(302, { location: '/examples/browser/' }).end();
    return;
  }
  for (const [prefix, dir] of mounts) {
    if (!path.startsWith(prefix)) continue;
    let file = resolve(dir, `.${sep}${path.slice(prefix.length)}`);
    // resolve() has already collapsed any "..": anything that left the mount is refused.
    if (file !== dir && !file.startsWith(dir + sep)) return send(res, 403, 'forbidden');
    let info = await stat(file).catch(() => undefined);
    if (info?.isDirectory()) {
      file = join(file, 'index.html');
      info = await stat(file).catch(() => undefined);
    }
    if (!info?.isFile()) {
      const hint = prefix.startsWith('/packages/client') ? ' (build the client first: npm run build)' : '';
      return send(res, 404, `not found: ${path}${hint}`);
    }
    res.writeHead(200, {
      'content-type': MIME[extname(file)] ?? 'application/octet-stream',
      'content-length': info.size,
      // A rebuilt client must show up on reload.
      'cache-control': 'no-store',
    });
    if (req.method === 'HEAD') {
      res.end();
      return;
    }
    createReadStream(file).pipe(res);
    return;
  }
  send(res, 404, `not found: ${path}`);
}

function send(res: ServerResponse, status: number, message: string): void {
  if (res.headersSent) {
    res.destroy();
    return;
  }
  res.writeHead(status, { 'content-type': 'text/plain; charset=utf-8' }).end(`${message}\n`);
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(resolve(process.argv[1])).href) {
  const { values } = parseArgs({ options: { port: { type: 'string', default: '5173' }, host: { type: 'string' } } });
  const port = Number(values.port);
  if (!Number.isInteger(port) || port < 0 || port > 65535) {
    console.error(`--port must be an integer from 0 to 65535, got ${values.port}`);
    process.exit(2);
  }
  const example = await serveExample({ port, ...(values.host !== undefined ? { host: values.host } : {}) });
  console.log(`Browser example: ${example.pageUrl}`);
  console.log(`Against another server: ${example.pageUrl}?endpoint=http://127.0.0.1:8080&user=user-0001`);
}
