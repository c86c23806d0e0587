// Node only: imported by node.ts, never by the edge entry.
import { readFile } from 'node:fs/promises';
import { resolve, sep } from 'node:path';
import { BundleError } from '../errors/index.js';
import { assertSafeFileName, missingFile, type BundleSource } from './source.js';

/** A bundle directory on the local file system. */
export function directorySource(dir: string): BundleSource {
  const root = resolve(dir);
  return {
    async read(name) {
      assertSafeFileName(name);
      const path = resolve(root, name);
      // assertSafeFileName already refuses `..`; this guards against anything it did not foresee.
      if (!path.startsWith(root + sep)) {
        throw new BundleError('BUNDLE_INVALID', `${name}: resolves outside the bundle directory`, { file: name, reason: 'unsafe-name' });
      }
      try {
        return await readFile(path);
      } catch (cause) {
        if ((cause as NodeJS.ErrnoException).code === 'ENOENT') throw missingFile(name, root, cause);
        throw new BundleError('BUNDLE_INVALID', `${name}: could not read ${path}`, { file: name, reason: 'io' }, { cause });
      }
    },
    describe: () => root,
  };
}
