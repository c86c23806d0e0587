import { TastemakerError } from '../errors/index.js';
import { decodeBlockFile, encodeBlockFile } from './block-file.js';
import { DRR_STATE_MODULES, drrLayout, DRR_TENSORS, type DrrShape } from './drr-network.js';

/**
 * The DRR weights file: the bundle's `rl.weights` and the blob a served policy persists as its
 * state. A block file (block-file.ts) with magic "TMRL", a JSON header { format, version, shape,
 * tensors, blocks }, and float32 blocks in the header's `blocks` order:
 *     params   the online networks (DRR_TENSORS order, each row-major)
 *     target   the target networks, same layout (optional)
 *     users    user rows [users, dim] for drr-u / drr-ave (optional)
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
  return encodeBlockFile(MAGIC, header, [w.params, w.target, w.users?.values].filter((block) => block !== undefined));
}

export function decodeDrrWeights(bytes: Uint8Array): DrrWeights {
  const file = decodeBlockFile(bytes, MAGIC, 'DRR weights', invalid);
  const header = file.header as Header;
  if (header.format !== 'tastemaker-drr' || header.version !== VERSION) throw invalid(`unsupported format ${JSON.stringify(header.format)} version ${String(header.version)}`);
  const shape = header.shape;
  if (!DRR_STATE_MODULES.includes(shape?.kind)) throw invalid(`unknown state module ${JSON.stringify(shape?.kind)}; valid: ${DRR_STATE_MODULES.join(', ')}`);
  for (const key of ['stateSize', 'dim', 'actorHidden', 'criticHidden'] as const) {
    if (!Number.isInteger(shape[key]) || shape[key] < 1) throw invalid(`shape.${key} must be a positive integer`);
  }
  const total = drrLayout(shape).total;
  const out: DrrWeights = { shape, params: new Float32Array(0) };
  for (const block of header.blocks) {
    const values = file.next(block.name, block.length) as Float32Array;
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
