import { TastemakerError } from '../errors/index.js';
import { DRR_STATE_MODULES, drrLayout, DRR_TENSORS, type DrrShape } from './drr-network.js';

/**
 * The DRR weights file: the bundle's `rl.weights` and the blob a served policy persists as its
 * state. Layout (little-endian):
 *   bytes 0–3    "TMRL"
 *   bytes 4–7    uint32 header length h
 *   h bytes      UTF-8 JSON header { format, version, shape, tensors, blocks }
 *   padding to a multiple of 4, then float32 blocks in the header's `blocks` order:
 *     params   the online networks (DRR_TENSORS order, each row-major)
 *     target   the target networks, same layout (optional)
 *     users    user rows [users, dim] for drr-u / drr-ave (optional)
 * A plain format rather than ONNX because core reads and writes it on every update, at the edge too.
 */

const MAGIC = [0x54, 0x4d, 0x52, 0x4c];
const VERSION = 1;

export interface DrrWeights {
  shape: DrrShape;
  params: Float32Array;
  target?: Float32Array | undefined;
  users?: { rows: number; values: Float32Array } | undefined;
}

interface Header {
  format: 'tastemaker-drr';
  version: number;
  shape: DrrShape;
  /** tensor name → [offset, length] within params, for readers in other languages */
  tensors: Record<string, [number, number]>;
  blocks: { name: 'params' | 'target' | 'users'; length: number }[];
}

function invalid(message: string): TastemakerError {
  return new TastemakerError('BUNDLE_INVALID', `DRR weights: ${message}`);
}

export function encodeDrrWeights(w: DrrWeights): Uint8Array {
  const layout = drrLayout(w.shape);
  if (w.params.length !== layout.total) throw invalid(`params has ${w.params.length} values, the shape needs ${layout.total}`);
  if (w.target !== undefined && w.target.length !== layout.total) throw invalid(`target has ${w.target.length} values, the shape needs ${layout.total}`);
  const blocks: Header['blocks'] = [{ name: 'params', length: w.params.length }];
  if (w.target !== undefined) blocks.push({ name: 'target', length: w.target.length });
  if (w.users !== undefined) blocks.push({ name: 'users', length: w.users.values.length });
  const header: Header = {
    format: 'tastemaker-drr',
    version: VERSION,
    shape: w.shape,
    tensors: Object.fromEntries(DRR_TENSORS.map((n) => [n, [layout.offsets[n], layout.sizes[n]]])),
    blocks,
  };
  const json = new TextEncoder().encode(JSON.stringify(header));
  const start = Math.ceil((8 + json.length) / 4) * 4;
  const floats = blocks.reduce((s, b) => s + b.length, 0);
  const out = new Uint8Array(start + 4 * floats);
  out.set(MAGIC, 0);
  const view = new DataView(out.buffer);
  view.setUint32(4, json.length, true);
  out.set(json, 8);
  let at = start;
  for (const block of [w.params, w.target, w.users?.values]) {
    if (block === undefined) continue;
    for (let i = 0; i < block.length; i++, at += 4) view.setFloat32(at, block[i] as number, true);
  }
  return out;
}

export function decodeDrrWeights(bytes: Uint8Array): DrrWeights {
  if (bytes.length < 8 || MAGIC.some((m, i) => bytes[i] !== m)) throw invalid('not a DRR weights file (bad magic)');
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const length = view.getUint32(4, true);
  if (8 + length > bytes.length) throw invalid('truncated header');
  let header: Header;
  try {
    header = JSON.parse(new TextDecoder().decode(bytes.subarray(8, 8 + length))) as Header;
  } catch {
    throw invalid('header is not JSON');
  }
  if (header.format !== 'tastemaker-drr' || header.version !== VERSION) throw invalid(`unsupported format ${JSON.stringify(header.format)} version ${String(header.version)}`);
  const shape = header.shape;
  if (!DRR_STATE_MODULES.includes(shape?.kind)) throw invalid(`unknown state module ${JSON.stringify(shape?.kind)}; valid: ${DRR_STATE_MODULES.join(', ')}`);
  for (const key of ['stateSize', 'dim', 'actorHidden', 'criticHidden'] as const) {
    if (!Number.isInteger(shape[key]) || shape[key] < 1) throw invalid(`shape.${key} must be a positive integer`);
  }
  const total = drrLayout(shape).total;
  let at = Math.ceil((8 + length) / 4) * 4;
  const out: DrrWeights = { shape, params: new Float32Array(0) };
  for (const block of header.blocks) {
    if (at + 4 * block.length > bytes.length) throw invalid(`block ${block.name} runs past the end of the file`);
    const values = new Float32Array(block.length);
    for (let i = 0; i < block.length; i++, at += 4) values[i] = view.getFloat32(at, true);
    if (block.name === 'params') out.params = values;
    else if (block.name === 'target') out.target = values;
    else if (block.name === 'users') {
      if (block.length % shape.dim !== 0) throw invalid(`users block of ${block.length} values is not a multiple of dim ${shape.dim}`);
      out.users = { rows: block.length / shape.dim, values };
    }
  }
  if (out.params.length !== total) throw invalid(`params has ${out.params.length} values, the shape needs ${total}`);
  if (out.target !== undefined && out.target.length !== total) throw invalid(`target has ${out.target.length} values, the shape needs ${total}`);
  return out;
}
