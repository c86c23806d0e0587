import path from 'node:path';
import { invalidConfig } from '@tastemaker/core';
import { IdMap, type Dataset } from './dataset.js';
import { InteractionsBuilder } from './interactions-builder.js';
import { fileError, isBlank, readLines, type TextEncoding, type TextLines } from './text-file.js';

export const INTERACTIONS_FILE_FORMATS = ['csv', 'tsv', 'jsonl'] as const;
export type InteractionsFileFormat = (typeof INTERACTIONS_FILE_FORMATS)[number];

/** A column by header name (or JSON key) or by 0-based position. */
export type ColumnRef = string | number;

export interface ColumnMapping {
  user: ColumnRef;
  item: ColumnRef;
  /** rating, play count, weight…; absent means every interaction is 1 */
  value?: ColumnRef;
  /** unix seconds (milliseconds are recognised and converted) or an ISO-8601 date */
  timestamp?: ColumnRef;
}

export interface InteractionsFileOptions {
  /** default: from the extension (.tsv/.tab → tsv, .jsonl/.ndjson → jsonl, anything else → csv) */
  format?: InteractionsFileFormat;
  /** field separator for csv/tsv; default `,` for .csv, tab for tsv, else guessed from the first line */
  delimiter?: string;
  /** default: true when a column is named or the first line holds a common column name (user, item_id, rating…) */
  hasHeader?: boolean;
  /** default: found by common names in the header (user/user_id/…), else positions 0, 1, 2, 3 */
  columns?: ColumnMapping;
  encoding?: TextEncoding;
}

const KNOWN_NAMES: Record<keyof ColumnMapping, string[]> = {
  user: ['user', 'userid', 'uid', 'visitorid', 'customerid', 'customer', 'sessionid'],
  item: ['item', 'itemid', 'iid', 'movieid', 'movie', 'artistid', 'artist', 'productid', 'product', 'trackid'],
  value: ['rating', 'value', 'count', 'weight', 'score', 'plays', 'playcount', 'label'],
  timestamp: ['timestamp', 'time', 'ts', 'datetime', 'date', 'eventtime'],
};

const normaliseName = (s: string): string => s.trim().toLowerCase().replace(/[\s_-]/g, '');

/** Parses a CLI column flag: digits are a 0-based position, anything else a name. */
export function parseColumnRef(text: string): ColumnRef {
  return /^\d+$/.test(text.trim()) ? Number(text.trim()) : text;
}

/** The file format implied by a path's extension. */
export function interactionsFileFormatOf(file: string): InteractionsFileFormat {
  const ext = path.extname(file).toLowerCase();
  if (ext === '.tsv' || ext === '.tab') return 'tsv';
  if (ext === '.jsonl' || ext === '.ndjson') return 'jsonl';
  return 'csv';
}

/**
 * Generic interaction logs: CSV/TSV (RFC 4180 quoting on a single line) or JSON Lines (objects by
 * key, or arrays by position). Users and items are indexed in order of first appearance.
 */
export async function readInteractionsFile(file: string, options: InteractionsFileOptions = {}): Promise<Dataset> {
  const format = options.format ?? interactionsFileFormatOf(file);
  if (!(INTERACTIONS_FILE_FORMATS as readonly string[]).includes(format)) {
    throw invalidConfig('format', format, INTERACTIONS_FILE_FORMATS);
  }
  if (options.delimiter === '') throw invalidConfig('delimiter', '', [',', '\t', ';', '|', '::']);
  const lines = await readLines(file, options.encoding ?? 'utf8');
  const rows = format === 'jsonl' ? jsonRows(lines) : delimitedRows(lines, delimiterFor(file, format, options, lines));

  const users = new IdMap();
  const items = new IdMap();
  const b = new InteractionsBuilder(lines.length);
  let columns: ResolvedColumns | undefined;
  for (const row of rows) {
    columns ??= resolveColumns(lines, row, options, format);
    if (row.isHeader) continue;
    const i = row.line;
    const user = idField(lines, i, row.get(columns.user), 'user');
    const item = idField(lines, i, row.get(columns.item), 'item');
    const value = columns.value === undefined ? 1 : numberField(lines, i, row.get(columns.value), 'value');
    const timestamp = columns.timestamp === undefined ? Number.NaN : timestampField(lines, i, row.get(columns.timestamp));
    b.add(users.add(user), items.add(item), value, timestamp);
  }
  if (b.length === 0) throw fileError(file, 'no interactions');

  return {
    name: format,
    users,
    items,
    interactions: b.build(),
    source: { format, path: file },
  };
}

/** One parsed line: fields by position (csv/tsv, JSON arrays) or by key (JSON objects). */
interface Row {
  line: number;
  isHeader: boolean;
  /** header names or JSON object keys, for resolving named columns */
  names: string[] | undefined;
  get(column: ColumnRef): unknown;
  width: number;
}

interface ResolvedColumns {
  user: ColumnRef;
  item: ColumnRef;
  value: ColumnRef | undefined;
  timestamp: ColumnRef | undefined;
}

function delimiterFor(file: string, format: InteractionsFileFormat, options: InteractionsFileOptions, lines: TextLines): string {
  if (options.delimiter !== undefined) return options.delimiter;
  if (format === 'tsv') return '\t';
  if (path.extname(file).toLowerCase() === '.csv') return ',';
  const first = lines.lines.find((l) => !isBlank(l)) ?? '';
  for (const d of ['\t', '::', ',', ';', '|']) if (first.includes(d)) return d;
  return ',';
}

function* delimitedRows(lines: TextLines, delimiter: string): Generator<Row> {
  let header: string[] | undefined;
  let first = true;
  for (let i = 0; i < lines.length; i++) {
    const text = lines.at(i);
    if (isBlank(text)) continue;
    const fields = text.includes('"') ? splitQuoted(lines, i, delimiter) : text.split(delimiter);
    const row: Row = {
      line: i,
      isHeader: false,
      names: header,
      width: fields.length,
      get(column) {
        if (typeof column === 'number') return fields[column];
        const k = header?.indexOf(column) ?? -1;
        return k < 0 ? undefined : fields[k];
      },
    };
    if (first) {
      // whether the first line is a header depends on the options, so it is offered with its
      // fields as names and resolveColumns marks it before the generator resumes
      first = false;
      row.names = fields.map((f) => f.trim());
      yield row;
      if (row.isHeader) header = row.names;
      continue;
    }
    yield row;
  }
}

/** RFC 4180 fields on one line: `"a, b"` and `""` escapes; a quote left open is an error. */
function splitQuoted(lines: TextLines, i: number, delimiter: string): string[] {
  const s = lines.at(i);
  const out: string[] = [];
  let field = '';
  let k = 0;
  let quoted = false;
  let atFieldStart = true;
  while (k < s.length) {
    if (quoted) {
      const q = s.indexOf('"', k);
      if (q < 0) throw lines.error(i, 'unterminated quoted field (fields spanning lines are not supported)');
      field += s.slice(k, q);
      if (s[q + 1] === '"') {
        field += '"';
        k = q + 2;
      } else {
        quoted = false;
        k = q + 1;
      }
    } else if (atFieldStart && s[k] === '"') {
      quoted = true;
      atFieldStart = false;
      k++;
    } else if (s.startsWith(delimiter, k)) {
      out.push(field);
      field = '';
      atFieldStart = true;
      k += delimiter.length;
    } else {
      field += s[k];
      atFieldStart = false;
      k++;
    }
  }
  if (quoted) throw lines.error(i, 'unterminated quoted field (fields spanning lines are not supported)');
  out.push(field);
  return out;
}

function* jsonRows(lines: TextLines): Generator<Row> {
  for (let i = 0; i < lines.length; i++) {
    const text = lines.at(i);
    if (isBlank(text)) continue;
    let parsed: unknown;
    try {
      parsed = JSON.parse(text);
    } catch (e) {
      throw lines.error(i, `invalid JSON: ${(e as Error).message}`);
    }
    if (Array.isArray(parsed)) {
      const arr: unknown[] = parsed;
      yield { line: i, isHeader: false, names: undefined, width: arr.length, get: (c) => (typeof c === 'number' ? arr[c] : undefined) };
    } else if (parsed !== null && typeof parsed === 'object') {
      const obj = parsed as Record<string, unknown>;
      yield {
        line: i,
        isHeader: false,
        names: Object.keys(obj),
        width: Object.keys(obj).length,
        get: (c) => (typeof c === 'string' ? obj[c] : undefined),
      };
    } else {
      throw lines.error(i, 'expected a JSON object or array');
    }
  }
}

/** Resolves the column mapping against the first row, deciding there whether it is a header. */
function resolveColumns(lines: TextLines, first: Row, options: InteractionsFileOptions, format: InteractionsFileFormat): ResolvedColumns {
  const given = options.columns;
  const names = first.names;
  const isJson = format === 'jsonl';
  const anyNamed = given !== undefined && Object.values(given).some((c) => typeof c === 'string');

  let hasHeader = false;
  if (!isJson) {
    const looksLikeHeader =
      names !== undefined && names.some((n) => Object.values(KNOWN_NAMES).some((list) => list.includes(normaliseName(n))));
    hasHeader = options.hasHeader ?? (anyNamed || looksLikeHeader);
    first.isHeader = hasHeader;
  } else if (options.hasHeader) {
    throw invalidConfig('hasHeader', true, ['false (JSON Lines files have no header)']);
  }

  // JSON objects always have names; csv/tsv only with a header
  const namesAvailable = isJson ? names !== undefined : hasHeader;
  const columnNames = namesAvailable ? (names ?? []) : [];

  const check = (role: keyof ColumnMapping, ref: ColumnRef | undefined): ColumnRef | undefined => {
    if (ref === undefined) return undefined;
    if (typeof ref === 'number') {
      if (!Number.isInteger(ref) || ref < 0) throw invalidConfig(`columns.${role}`, ref, ['a column name', 'a 0-based column index']);
      if (ref >= first.width && !(isJson && names !== undefined)) {
        throw lines.error(first.line, `column ${role} is index ${ref} but the line has ${first.width} fields`);
      }
      if (isJson && names !== undefined) throw lines.error(first.line, `column ${role} is index ${ref} but the line is a JSON object; name the key`);
      return ref;
    }
    if (!namesAvailable) {
      throw lines.error(first.line, `column ${role} is named ${JSON.stringify(ref)} but the file has no header or keys; give a 0-based index`);
    }
    if (!columnNames.includes(ref)) {
      throw lines.error(first.line, `column ${role} ${JSON.stringify(ref)} not found (columns: ${columnNames.join(', ')})`);
    }
    return ref;
  };

  if (given !== undefined) {
    return {
      user: check('user', given.user) as ColumnRef,
      item: check('item', given.item) as ColumnRef,
      value: check('value', given.value),
      timestamp: check('timestamp', given.timestamp),
    };
  }

  if (namesAvailable) {
    const find = (role: keyof ColumnMapping): string | undefined =>
      columnNames.find((n) => KNOWN_NAMES[role].includes(normaliseName(n)));
    const user = find('user');
    const item = find('item');
    if (user === undefined || item === undefined) {
      throw lines.error(
        first.line,
        `cannot tell which columns hold ${user === undefined ? 'user' : 'item'} ids (columns: ${columnNames.join(', ')}); pass columns`,
      );
    }
    return { user, item, value: find('value'), timestamp: find('timestamp') };
  }

  if (first.width < 2) throw lines.error(first.line, `expected at least 2 fields (user, item), got ${first.width}`);
  return {
    user: 0,
    item: 1,
    value: first.width > 2 ? 2 : undefined,
    timestamp: first.width > 3 ? 3 : undefined,
  };
}

function idField(lines: TextLines, i: number, v: unknown, role: string): string {
  if (typeof v === 'number' && Number.isFinite(v)) return String(v);
  if (typeof v === 'string') {
    const s = v.trim();
    if (s !== '') return s;
    throw lines.error(i, `empty ${role} id`);
  }
  throw lines.error(i, v === undefined || v === null ? `missing ${role} id` : `${role} id must be a string or number`);
}

function numberField(lines: TextLines, i: number, v: unknown, role: string): number {
  if (typeof v === 'number' && Number.isFinite(v)) return v;
  if (typeof v === 'string' && v.trim() !== '') {
    const n = Number(v);
    if (Number.isFinite(n)) return n;
  }
  if (typeof v === 'boolean') return v ? 1 : 0;
  throw lines.error(i, v === undefined || v === null || v === '' ? `missing ${role}` : `${role} is not a number: ${JSON.stringify(v)}`);
}

// 1e11 s is the year 5138 and 1e11 ms is 1973: larger values can only be milliseconds
const MILLISECONDS_ABOVE = 1e11;

function timestampField(lines: TextLines, i: number, v: unknown): number {
  if (v === undefined || v === null || (typeof v === 'string' && v.trim() === '')) return Number.NaN;
  let t: number;
  if (typeof v === 'number') t = v;
  else if (typeof v === 'string') {
    t = Number(v);
    if (!Number.isFinite(t)) {
      const ms = Date.parse(v);
      if (Number.isNaN(ms)) throw lines.error(i, `timestamp is neither a number nor a date: ${JSON.stringify(v)}`);
      return ms / 1000;
    }
  } else throw lines.error(i, `timestamp is neither a number nor a date: ${JSON.stringify(v)}`);
  if (!Number.isFinite(t)) throw lines.error(i, `timestamp is not finite: ${JSON.stringify(v)}`);
  return Math.abs(t) > MILLISECONDS_ABOVE ? t / 1000 : t;
}
