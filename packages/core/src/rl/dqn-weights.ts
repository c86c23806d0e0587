import { TastemakerError } from '../errors/index.js';
import { decodeBlockFile, encodeBlockFile } from './block-file.js';

/**
 * The DQN side data of a bundle (the rl section's `weights` when algorithm = "dqn"): what core
 * needs besides the Q-network graph to build a state and its belief term φ₀.
 *
 * - each known user's training windows: the last N liked and the last N not-liked rated items,
 *   oldest first, left-padded with -1 (the trainer's state layout), with the ratings of those items;
 * - the rating model the belief is folded in from (rl/dqn-belief.ts): the PMF's item factors and
 *   biases, global mean, and user rows (which a known user's ridge is centred on when `userPrior`).
 *
 * A block file (block-file.ts) with magic "TMDQ", a DqnHeader, and float32 blocks in the header's
 * `blocks` order. Item indices are stored as float32 too (exact below 2^24) so there is one element
 * type. A plain format rather than ONNX initializers because core reads these values in JavaScript.
 */

const MAGIC = [0x54, 0x4d, 0x44, 0x51];
const VERSION = 1;

export interface DqnSideData {
  /** N: items per window */
  stateSize: number;
  /** PMF factor width; the Q-network's φ has dim + 2 values */
  dim: number;
  nItems: number;
  nUsers: number;
  /** "ridge": φ₀ is the ridge fold-in below; "none": φ₀ = 0 */
  prior: 'ridge' | 'none';
  lambda: number;
  /** a known user's ridge is centred on their PMF row and counts only ratings observed since training */
  userPrior: boolean;
  /**
   * Whether live feedback enters the belief as observed ratings (the trainer's `episodeBelief`,
   * default true). When false only the Q-network's GRUs see it; the belief of a known user stays
   * their row. Side data written before the flag existed reads as true.
   */
  episodeBelief: boolean;
  /** ratings assumed for a liked / skipped item without an observed rating */
  likedRating: number;
  skippedRating: number;
  globalMean: number;
  /** [nItems, dim] */
  itemFactors: Float32Array;
  /** [nItems] */
  itemBias: Float32Array;
  /** [nUsers, dim] */
  userFactors: Float32Array;
  /** [nUsers] */
  userBias: Float32Array;
  /** [nUsers, N] item rows, -1 = padding */
  liked: Int32Array;
  skipped: Int32Array;
  /** [nUsers, N] the training rating of each window entry (0 for padding) */
  likedRatings: Float32Array;
  skippedRatings: Float32Array;
}

const BLOCKS = ['itemFactors', 'itemBias', 'userFactors', 'userBias', 'liked', 'skipped', 'likedRatings', 'skippedRatings'] as const;
type BlockName = (typeof BLOCKS)[number];
const SCALARS = ['stateSize', 'dim', 'nItems', 'nUsers', 'prior', 'lambda', 'userPrior', 'episodeBelief', 'likedRating', 'skippedRating', 'globalMean'] as const;

type DqnHeader = { format: 'tastemaker-dqn'; version: number; blocks: { name: BlockName; length: number }[] } & Pick<DqnSideData, (typeof SCALARS)[number]>;

function invalid(message: string): TastemakerError {
  return new TastemakerError('BUNDLE_INVALID', `DQN side data: ${message}`);
}

function blockLength(d: Pick<DqnSideData, 'dim' | 'nItems' | 'nUsers' | 'stateSize'>, name: BlockName): number {
  switch (name) {
    case 'itemFactors':
      return d.nItems * d.dim;
    case 'itemBias':
      return d.nItems;
    case 'userFactors':
      return d.nUsers * d.dim;
    case 'userBias':
      return d.nUsers;
    default:
      return d.nUsers * d.stateSize;
  }
}

export function encodeDqnSideData(d: DqnSideData): Uint8Array {
  const blocks = BLOCKS.map((name) => {
    const length = blockLength(d, name);
    if (d[name].length !== length) throw invalid(`${name} has ${d[name].length} values, expected ${length}`);
    return { name, length };
  });
  const header: DqnHeader = { format: 'tastemaker-dqn', version: VERSION, blocks, ...Object.fromEntries(SCALARS.map((k) => [k, d[k]])) } as DqnHeader;
  return encodeBlockFile(MAGIC, header, blocks.map(({ name }) => d[name]));
}

export function decodeDqnSideData(bytes: Uint8Array): DqnSideData {
  const file = decodeBlockFile(bytes, MAGIC, 'DQN side-data', invalid);
  const header = file.header as DqnHeader;
  if (header.format !== 'tastemaker-dqn' || header.version !== VERSION) throw invalid(`unsupported format ${JSON.stringify(header.format)} version ${String(header.version)}`);
  for (const k of ['stateSize', 'dim', 'nItems', 'nUsers'] as const) {
    if (!Number.isInteger(header[k]) || header[k] < (k === 'nUsers' || k === 'nItems' ? 0 : 1)) throw invalid(`${k} must be a positive integer`);
  }
  for (const k of ['lambda', 'likedRating', 'skippedRating', 'globalMean'] as const) if (!Number.isFinite(header[k])) throw invalid(`${k} must be a finite number`);
  if (header.prior !== 'ridge' && header.prior !== 'none') throw invalid(`prior must be "ridge" or "none"`);
  if (header.prior === 'ridge' && !(header.lambda > 0)) throw invalid('lambda must be > 0');
  const out: Partial<Record<BlockName, Float32Array | Int32Array>> = {};
  for (const name of BLOCKS) {
    const block = header.blocks?.find((b) => b.name === name);
    const length = blockLength(header, name);
    if (block === undefined || block.length !== length) throw invalid(`block ${name} should hold ${length} values`);
    const integer = name === 'liked' || name === 'skipped';
    const values = file.next(name, length, integer ? 'int32' : undefined);
    if (integer) {
      const bad = values.findIndex((v) => v < -1 || v >= header.nItems);
      if (bad >= 0) throw invalid(`${name}[${bad}] = ${values[bad]} is not an item row`);
    } else if (values.some((v) => !Number.isFinite(v))) throw invalid(`block ${name} has a value that is not finite`);
    out[name] = values;
  }
  if (file.remaining() !== 0) throw invalid(`${file.remaining()} trailing bytes`);
  return {
    stateSize: header.stateSize,
    dim: header.dim,
    nItems: header.nItems,
    nUsers: header.nUsers,
    prior: header.prior,
    lambda: header.lambda,
    userPrior: header.userPrior === true,
    episodeBelief: header.episodeBelief !== false,
    likedRating: header.likedRating,
    skippedRating: header.skippedRating,
    globalMean: header.globalMean,
    itemFactors: out.itemFactors as Float32Array,
    itemBias: out.itemBias as Float32Array,
    userFactors: out.userFactors as Float32Array,
    userBias: out.userBias as Float32Array,
    liked: out.liked as Int32Array,
    skipped: out.skipped as Int32Array,
    likedRatings: out.likedRatings as Float32Array,
    skippedRatings: out.skippedRatings as Float32Array,
  };
}
