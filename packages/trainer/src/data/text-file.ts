import { readFile, stat } from 'node:fs/promises';
import path from 'node:path';
import { DataFormatError } from '@tastemaker/core';

/**
 * Low-level text helpers shared by the readers. Files are read whole and split, not streamed: the
 * largest supported file (ML-1M ratings) is ~25 MB, and one split beats a line-by-line stream by
 * an order of magnitude in V8.
 */

export type TextEncoding = 'utf8' | 'latin1';

/** A data file's lines (CR stripped), remembering the file so errors can name it. */
export class TextLines {
  constructor(
    readonly file: string,
    readonly lines: string[],
  ) {}

  get length(): number {
    return this.lines.length;
  }

  /** The line at 0-based `i` (physical line i + 1). */
  at(i: number): string {
    return this.lines[i] ?? '';
  }

  /** An error for 0-based line `i`, worded `u.data line 17: <reason>`. */
  error(i: number, reason: string): DataFormatError {
    return lineError(this.file, i + 1, reason);
  }

  /** Splits line `i` on `separator`, insisting on exactly `count` fields (or at least `count` when `atLeast`). */
  fields(i: number, separator: string, count: number, separatorName: string, atLeast = false): string[] {
    const f = this.at(i).split(separator);
    if (atLeast ? f.length < count : f.length !== count) {
      throw this.error(i, `expected ${atLeast ? 'at least ' : ''}${count} ${separatorName}-separated fields, got ${f.length}`);
    }
    return f;
  }

  /** A finite number from `text`, or an error naming the field. */
  number(i: number, text: string | undefined, field: string): number {
    const v = text === undefined || text.trim() === '' ? Number.NaN : Number(text);
    if (!Number.isFinite(v)) throw this.error(i, `${field} is not a number: ${JSON.stringify(text ?? '')}`);
    return v;
  }

  /** A non-negative integer from `text` (ids, codes, labels). */
  index(i: number, text: string | undefined, field: string): number {
    const v = this.number(i, text, field);
    if (!Number.isInteger(v) || v < 0) throw this.error(i, `${field} is not a non-negative integer: ${JSON.stringify(text)}`);
    return v;
  }
}

/** `<basename> line <n>: <reason>`, with the full path in details. */
export function lineError(file: string, line: number, reason: string): DataFormatError {
  return new DataFormatError(`${path.basename(file)} line ${line}: ${reason}`, { file, line, reason });
}

/** Whole-file error (missing, unreadable, empty). */
export function fileError(file: string, reason: string, cause?: unknown): DataFormatError {
  const err = new DataFormatError(`${file}: ${reason}`, { file, reason });
  if (cause !== undefined) Object.defineProperty(err, 'cause', { value: cause, enumerable: false });
  return err;
}

export async function fileExists(file: string): Promise<boolean> {
  try {
    return (await stat(file)).isFile();
  } catch {
    return false;
  }
}

export async function readText(file: string, encoding: TextEncoding = 'utf8'): Promise<string> {
  try {
    return await readFile(file, encoding);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') throw fileError(file, 'file not found');
    if (code === 'EISDIR') throw fileError(file, 'is a directory, expected a file');
    throw fileError(file, `cannot read: ${(e as Error).message}`, e);
  }
}

/**
 * Splits into lines, dropping one trailing empty line and stripping CR so CRLF files parse like
 * LF ones. Blank lines elsewhere stay, so indices keep matching physical line numbers.
 */
export function splitLines(text: string): string[] {
  const lines = text.split('\n');
  if (lines.length > 0 && lines[lines.length - 1] === '') lines.pop();
  if (text.includes('\r')) {
    for (let i = 0; i < lines.length; i++) {
      const l = lines[i] as string;
      if (l.endsWith('\r')) lines[i] = l.slice(0, -1);
    }
  }
  // a UTF-8 byte-order mark would otherwise glue itself to the first field
  if (lines.length > 0 && (lines[0] as string).charCodeAt(0) === 0xfeff) lines[0] = (lines[0] as string).slice(1);
  return lines;
}

export async function readLines(file: string, encoding: TextEncoding = 'utf8'): Promise<TextLines> {
  return new TextLines(file, splitLines(await readText(file, encoding)));
}

export function isBlank(line: string): boolean {
  return line.trim() === '';
}
