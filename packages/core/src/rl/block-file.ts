/**
 * The container of core's RL files (DRR weights, DQN side data). Layout (little-endian):
 *   bytes 0–3    a four-byte magic naming the file kind
 *   bytes 4–7    uint32 header length h
 *   h bytes      UTF-8 JSON header (each kind says what it holds, including its blocks' lengths)
 *   padding to a multiple of 4, then the float32 blocks one after another.
 * A plain format rather than ONNX or a tensor library's: core reads and writes it at the edge too,
 * and a served DRR policy rewrites it at every checkpoint.
 */

/** Magic, header and blocks as one file. */
export function encodeBlockFile(magic: readonly number[], header: unknown, blocks: readonly ArrayLike<number>[]): Uint8Array {
  const json = new TextEncoder().encode(JSON.stringify(header));
  const start = Math.ceil((8 + json.length) / 4) * 4;
  const floats = blocks.reduce((n, b) => n + b.length, 0);
  const out = new Uint8Array(start + 4 * floats);
  out.set(magic, 0);
  const view = new DataView(out.buffer);
  view.setUint32(4, json.length, true);
  out.set(json, 8);
  let at = start;
  for (const block of blocks) {
    for (let i = 0; i < block.length; i++, at += 4) view.setFloat32(at, block[i] as number, true);
  }
  return out;
}

/** A file opened by decodeBlockFile: its parsed header, and its blocks read in order. */
export interface BlockFileReader {
  header: unknown;
  /** The next block of `length` values (into an Int32Array when asked: rows stored as floats). */
  next(name: string, length: number, into?: 'int32'): Float32Array | Int32Array;
  /** Bytes after the last block read. */
  remaining(): number;
}

/** Checks the magic and reads the header; `invalid` makes each error the caller's kind. */
export function decodeBlockFile(bytes: Uint8Array, magic: readonly number[], kind: string, invalid: (message: string) => Error): BlockFileReader {
  if (bytes.length < 8 || magic.some((m, i) => bytes[i] !== m)) throw invalid(`not a ${kind} file (bad magic)`);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const length = view.getUint32(4, true);
  if (8 + length > bytes.length) throw invalid('truncated header');
  let header: unknown;
  try {
    header = JSON.parse(new TextDecoder().decode(bytes.subarray(8, 8 + length)));
  } catch {
    throw invalid('header is not JSON');
  }
  let at = Math.ceil((8 + length) / 4) * 4;
  return {
    header,
    next(name, count, into) {
      if (at + 4 * count > bytes.length) throw invalid(`block ${name} runs past the end of the file`);
      const values = into === 'int32' ? new Int32Array(count) : new Float32Array(count);
      for (let i = 0; i < count; i++, at += 4) values[i] = view.getFloat32(at, true);
      return values;
    },
    remaining: () => bytes.length - at,
  };
}
