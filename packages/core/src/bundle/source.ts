import { BundleError } from '../errors/index.js';

/**
 * Where bundle files come from. Core reads bundles through this interface so the same loader serves
 * a directory (node), an in-memory map (tests, uploads) or a CDN (edge).
 */
export interface BundleSource {
  /** Bytes of one file, by its name relative to the bundle root. */
  read(name: string): Promise<Uint8Array>;
  /** Where the bundle lives, for error messages. */
  describe(): string;
}

/**
 * Bundle file names come from a manifest that may be hostile, so a name that could escape the
 * bundle root (absolute, `..`, backslashes, URL schemes) is refused before any source sees it.
 */
export function assertSafeFileName(name: string): void {
  const bad =
    name.length === 0 ||
    name.startsWith('/') ||
    name.includes('\\') ||
    name.includes('\0') ||
    /^[a-zA-Z][a-zA-Z0-9+.-]*:/.test(name) ||
    name.split('/').some((part) => part === '..' || part === '.' || part === '');
  if (bad) {
    throw new BundleError('BUNDLE_INVALID', `Bundle file name ${JSON.stringify(name)} is not a plain relative path`, {
      file: name,
      reason: 'unsafe-name',
    });
  }
}

export function missingFile(name: string, where: string, cause?: unknown): BundleError {
  return new BundleError(
    'BUNDLE_INVALID',
    `${name}: file is missing from bundle ${where}`,
    { file: name, reason: 'missing' },
    cause === undefined ? undefined : { cause },
  );
}

/** A bundle held in memory, e.g. written by a test or received as an upload. */
export function memorySource(
  files: Readonly<Record<string, Uint8Array | string>> | ReadonlyMap<string, Uint8Array | string>,
  label = 'memory',
): BundleSource {
  const entries = files instanceof Map ? [...files.entries()] : Object.entries(files);
  const map = new Map<string, Uint8Array>(
    entries.map(([name, value]) => [name, typeof value === 'string' ? new TextEncoder().encode(value) : value]),
  );
  return {
    async read(name) {
      assertSafeFileName(name);
      const bytes = map.get(name);
      if (bytes === undefined) throw missingFile(name, label);
      return bytes;
    },
    describe: () => label,
  };
}

export type FetchLike = (input: string, init?: { signal?: AbortSignal }) => Promise<{
  ok: boolean;
  status: number;
  statusText: string;
  arrayBuffer(): Promise<ArrayBuffer>;
}>;

/** A bundle served over HTTP(S); `fetch` is injectable for runtimes and tests that provide their own. */
export function fetchSource(baseUrl: string | URL, fetchImpl?: FetchLike): BundleSource {
  const base = new URL(String(baseUrl).endsWith('/') ? String(baseUrl) : `${String(baseUrl)}/`);
  const doFetch: FetchLike = fetchImpl ?? ((input, init) => globalThis.fetch(input, init));
  return {
    async read(name) {
      assertSafeFileName(name);
      const url = new URL(name, base).toString();
      let response: Awaited<ReturnType<FetchLike>>;
      try {
        response = await doFetch(url);
      } catch (cause) {
        throw new BundleError('BUNDLE_INVALID', `${name}: could not fetch ${url}`, { file: name, url, reason: 'network' }, { cause });
      }
      if (response.status === 404) throw missingFile(name, base.toString());
      if (!response.ok) {
        throw new BundleError(
          'BUNDLE_INVALID',
          `${name}: fetching ${url} answered ${response.status} ${response.statusText}`,
          { file: name, url, status: response.status, reason: 'http' },
        );
      }
      return new Uint8Array(await response.arrayBuffer());
    },
    describe: () => base.toString(),
  };
}
