import { parseArgs, type ParseArgsConfig } from 'node:util';
import { TastemakerError } from '@tastemaker/core';

export type Flags = Record<string, string | boolean | string[] | undefined>;

/** parseArgs with errors turned into INVALID_ARGUMENT so the CLI prints one clean line. */
export function parseFlags(argv: string[], options: NonNullable<ParseArgsConfig['options']>): Flags {
  try {
    return parseArgs({ args: argv, options, allowPositionals: false, strict: true }).values as Flags;
  } catch (e) {
    throw new TastemakerError('INVALID_ARGUMENT', e instanceof Error ? e.message : String(e));
  }
}

export function requireString(flags: Flags, name: string): string {
  const v = flags[name];
  if (typeof v !== 'string' || v.length === 0) throw new TastemakerError('INVALID_ARGUMENT', `Missing required flag --${name}.`);
  return v;
}

export function optionalNumber(flags: Flags, name: string, opts: { integer?: boolean; min?: number } = {}): number | undefined {
  const v = flags[name];
  if (v === undefined) return undefined;
  const n = Number(v);
  if (typeof v !== 'string' || v.trim() === '' || !Number.isFinite(n) || (opts.integer && !Number.isInteger(n)) || (opts.min !== undefined && n < opts.min)) {
    const kind = opts.integer ? 'an integer' : 'a number';
    const bound = opts.min !== undefined ? ` ≥ ${opts.min}` : '';
    throw new TastemakerError('INVALID_ARGUMENT', `--${name} must be ${kind}${bound}, got ${JSON.stringify(v)}.`);
  }
  return n;
}

/** `--set key=value` pairs for model-specific options; numbers and booleans are parsed. */
export function parseSets(values: string[] | undefined): Record<string, string | number | boolean> {
  const out: Record<string, string | number | boolean> = {};
  for (const kv of values ?? []) {
    const eq = kv.indexOf('=');
    if (eq <= 0) throw new TastemakerError('INVALID_ARGUMENT', `--set expects key=value, got ${JSON.stringify(kv)}.`);
    const key = kv.slice(0, eq);
    const raw = kv.slice(eq + 1);
    out[key] = raw === 'true' ? true : raw === 'false' ? false : raw !== '' && Number.isFinite(Number(raw)) ? Number(raw) : raw;
  }
  return out;
}
