/**
 * Every error Tastemaker throws on purpose is a TastemakerError with a stable `code`, so callers
 * (and the server, which maps codes to HTTP statuses) can branch without parsing messages.
 */
export type TastemakerErrorCode =
  | 'INVALID_ARGUMENT'
  | 'INVALID_CONFIG'
  | 'NOT_FOUND'
  | 'BUNDLE_INVALID'
  | 'BUNDLE_CHECKSUM_MISMATCH'
  | 'BUNDLE_SIGNATURE_MISMATCH'
  | 'BUNDLE_UNSUPPORTED'
  | 'DEVICE_UNAVAILABLE'
  | 'DATA_FORMAT'
  | 'DISPOSED'
  | 'INTERNAL';

export class TastemakerError extends Error {
  readonly code: TastemakerErrorCode;
  readonly details: Readonly<Record<string, unknown>> | undefined;

  constructor(code: TastemakerErrorCode, message: string, details?: Record<string, unknown>, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'TastemakerError';
    this.code = code;
    this.details = details;
  }
}

/** A bundle that cannot be served: malformed manifest, missing file, bad checksum, graph signature mismatch. */
export class BundleError extends TastemakerError {
  readonly file: string | undefined;
  constructor(
    code: Extract<TastemakerErrorCode, `BUNDLE_${string}`>,
    message: string,
    details: { file?: string } & Record<string, unknown> = {},
    options?: { cause?: unknown },
  ) {
    super(code, message, details, options);
    this.name = 'BundleError';
    this.file = details.file;
  }
}

/** Malformed input data (a data file, a request payload): names where and why. */
export class DataFormatError extends TastemakerError {
  constructor(message: string, details: { file?: string; line?: number; reason?: string } & Record<string, unknown> = {}) {
    super('DATA_FORMAT', message, details);
    this.name = 'DataFormatError';
  }
}

/** A configuration value outside its valid set; the message lists the valid values. */
export function invalidConfig(option: string, got: unknown, valid: readonly string[]): TastemakerError {
  return new TastemakerError(
    'INVALID_CONFIG',
    `Invalid ${option}: ${JSON.stringify(got)}. Valid values: ${valid.map((v) => JSON.stringify(v)).join(', ')}.`,
    { option, got, valid },
  );
}

export function isTastemakerError(e: unknown): e is TastemakerError {
  return e instanceof TastemakerError;
}
