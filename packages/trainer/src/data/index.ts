import { invalidConfig } from '@tastemaker/core';
import type { Dataset } from './dataset.js';
import { readInteractionsFile, type InteractionsFileOptions } from './interactions-file.js';
import { LASTFM_2K, readLastFm2k, type LastFm2kOptions } from './lastfm-2k.js';
import { LASTFM_KG, readLastFmKg } from './lastfm-kg.js';
import { MOVIELENS_100K, readMovieLens100k, type MovieLens100kOptions } from './movielens-100k.js';
import { MOVIELENS_1M, readMovieLens1m, type MovieLens1mOptions } from './movielens-1m.js';

export * from './dataset.js';
export * from './paths.js';
export * from './csr.js';
export * from './transform.js';
export { AGE_BUCKETS, ML1M_GENRES, ML1M_OCCUPATIONS } from './demographics.js';
export { readMovieLens100k, MOVIELENS_100K, type MovieLens100kOptions } from './movielens-100k.js';
export { readMovieLens1m, MOVIELENS_1M, ML1M_RATINGS_FILES, type MovieLens1mOptions } from './movielens-1m.js';
export { readLastFmKg, LASTFM_KG } from './lastfm-kg.js';
export { readLastFm2k, LASTFM_2K, type LastFm2kOptions } from './lastfm-2k.js';
export {
  readInteractionsFile,
  interactionsFileFormatOf,
  parseColumnRef,
  INTERACTIONS_FILE_FORMATS,
  type ColumnMapping,
  type ColumnRef,
  type InteractionsFileFormat,
  type InteractionsFileOptions,
} from './interactions-file.js';

/**
 * Format ids `readDataset` accepts. Directory formats first; `csv`, `tsv` and `jsonl` all read a
 * single interactions file (`csv` also picks tsv/jsonl from the extension).
 */
export const DATA_FORMATS = [MOVIELENS_100K, MOVIELENS_1M, LASTFM_KG, LASTFM_2K, 'csv', 'tsv', 'jsonl'] as const;
export type DataFormat = (typeof DATA_FORMATS)[number];

/** Options of every reader; each reader looks only at its own. */
export type ReadDatasetOptions = MovieLens100kOptions & MovieLens1mOptions & LastFm2kOptions & InteractionsFileOptions;

export function isDataFormat(format: string): format is DataFormat {
  return (DATA_FORMATS as readonly string[]).includes(format);
}

/** Reads a data set by format id from a directory (or, for csv/tsv/jsonl, a file). */
export async function readDataset(format: string, path: string, options: ReadDatasetOptions = {}): Promise<Dataset> {
  if (!isDataFormat(format)) throw invalidConfig('data format', format, DATA_FORMATS);
  switch (format) {
    case 'movielens-100k':
      return readMovieLens100k(path, options);
    case 'movielens-1m':
      return readMovieLens1m(path, options);
    case 'lastfm-kg':
      return readLastFmKg(path);
    case 'lastfm-2k':
      return readLastFm2k(path, options);
    case 'csv':
      return readInteractionsFile(path, options);
    case 'tsv':
    case 'jsonl':
      return readInteractionsFile(path, { ...options, format });
  }
}
