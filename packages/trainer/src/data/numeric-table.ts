import { IdMap } from './dataset.js';
import { TextLines, isBlank, lineError, splitLines } from './text-file.js';

/** A column of a numeric table: its name (for error messages) and whether it must be an id. */
export interface NumericColumn {
  name: string;
  /** non-negative integer (ids, codes, labels) rather than any finite number */
  integer?: boolean;
}

/** Rows of numbers parsed from a delimited text file, row-major. */
export interface NumericTable {
  file: string;
  rows: number;
  width: number;
  values: Float64Array;
  /** 0-based physical line of each row, for errors found after parsing */
  line(row: number): number;
}

const SEPARATOR_NAMES: Record<string, string> = { '\t': 'tab', ',': 'comma', '::': '::', '|': '|' };

/**
 * Parses a file of numeric fields (ratings, KG triples, play counts). A character scanner handles
 * the common case of plain digit fields about four times faster than split-per-line; anything it
 * does not expect (decimals, signs, blank lines, a wrong field count) sends the whole file through
 * the line-by-line parser, which accepts decimals and reports the file, line and reason of errors.
 */
export function parseNumericTable(
  file: string,
  text: string,
  separator: string,
  columns: readonly NumericColumn[],
  skipLines = 0,
): NumericTable {
  return scanDigits(file, text, separator, columns.length, skipLines) ?? parseLines(file, text, separator, columns, skipLines);
}

/** Offset just past the first `skipLines` lines. */
function offsetAfter(text: string, skipLines: number): number {
  let pos = 0;
  for (let k = 0; k < skipLines && pos < text.length; k++) {
    const nl = text.indexOf('\n', pos);
    pos = nl < 0 ? text.length : nl + 1;
  }
  return pos;
}

function scanDigits(file: string, text: string, separator: string, width: number, skipLines: number): NumericTable | undefined {
  const start = offsetAfter(text, skipLines);
  const n = text.length;
  let capacity = 1;
  for (let p = text.indexOf('\n', start); p >= 0; p = text.indexOf('\n', p + 1)) capacity++;
  const values = new Float64Array(capacity * width);
  const sep0 = separator.charCodeAt(0);
  const sepLen = separator.length;
  let rows = 0;
  let pos = start;
  while (pos < n) {
    const base = rows * width;
    let field = 0;
    let v = 0;
    let digits = 0;
    for (;;) {
      const c = pos < n ? text.charCodeAt(pos) : 10;
      if (c >= 48 && c <= 57) {
        v = v * 10 + (c - 48);
        digits++;
        pos++;
      } else if (c === sep0 && (sepLen === 1 || text.startsWith(separator, pos))) {
        if (digits === 0 || field === width - 1) return undefined;
        values[base + field++] = v;
        v = 0;
        digits = 0;
        pos += sepLen;
      } else if (c === 10 || c === 13) {
        if (c === 13 && pos + 1 < n && text.charCodeAt(pos + 1) !== 10) return undefined;
        if (digits === 0 || field !== width - 1 || digits > 15) return undefined;
        values[base + field] = v;
        pos += c === 13 ? 2 : 1;
        break;
      } else {
        return undefined;
      }
    }
    rows++;
  }
  return { file, rows, width, values: values.subarray(0, rows * width), line: (row) => row + skipLines };
}

function parseLines(
  file: string,
  text: string,
  separator: string,
  columns: readonly NumericColumn[],
  skipLines: number,
): NumericTable {
  const lines = new TextLines(file, splitLines(text));
  const width = columns.length;
  const values = new Float64Array(Math.max(0, lines.length - skipLines) * width);
  const lineOf = new Int32Array(Math.max(0, lines.length - skipLines));
  const sepName = SEPARATOR_NAMES[separator] ?? JSON.stringify(separator);
  let rows = 0;
  for (let i = skipLines; i < lines.length; i++) {
    if (isBlank(lines.at(i))) continue;
    const f = lines.fields(i, separator, width, sepName);
    for (let k = 0; k < width; k++) {
      const col = columns[k] as NumericColumn;
      values[rows * width + k] = col.integer ? lines.index(i, f[k]?.trim(), col.name) : lines.number(i, f[k], col.name);
    }
    lineOf[rows++] = i;
  }
  return { file, rows, width, values: values.subarray(0, rows * width), line: (row) => lineOf[row] as number };
}

/** Error for a table row found wrong after parsing (an unknown id, say), naming its line. */
export function rowError(table: NumericTable, row: number, reason: string): ReturnType<typeof lineError> {
  return lineError(table.file, table.line(row) + 1, reason);
}

/**
 * Numeric external ids → dense indices. Ids are registered in the IdMap as their canonical decimal
 * string; the numeric cache spares a number → string conversion per interaction.
 */
export class NumericIds {
  private readonly cache = new Map<number, number>();

  constructor(readonly map: IdMap = new IdMap()) {
    for (let i = 0; i < map.ids.length; i++) {
      const n = Number(map.ids[i]);
      if (Number.isInteger(n) && String(n) === map.ids[i]) this.cache.set(n, i);
    }
  }

  add(id: number): number {
    let i = this.cache.get(id);
    if (i === undefined) {
      i = this.map.add(String(id));
      this.cache.set(id, i);
    }
    return i;
  }

  get(id: number): number | undefined {
    return this.cache.get(id);
  }
}

/** 1 when the first line is a header (its first field is not a number), else 0. */
export function headerLineCount(text: string): number {
  const end = text.search(/[\t\r\n]/);
  const first = (end < 0 ? text : text.slice(0, end)).replace(/^\uFEFF/, '').trim();
  return first === '' || Number.isFinite(Number(first)) ? 0 : 1;
}
