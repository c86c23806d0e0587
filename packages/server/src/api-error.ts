import type { TastemakerErrorCode } from '@tastemaker/core/edge';

/** Codes the HTTP API answers with, beyond core's: stable strings clients may branch on. */
export type ApiErrorCode =
  | TastemakerErrorCode
  | 'BAD_REQUEST'
  | 'MALFORMED_JSON'
  | 'UNSUPPORTED_MEDIA_TYPE'
  | 'UNAUTHENTICATED'
  | 'FORBIDDEN'
  | 'PAYLOAD_TOO_LARGE'
  | 'CONFLICT'
  | 'NOT_READY'
  | 'METHOD_NOT_ALLOWED';

export type ErrorStatus = 400 | 401 | 403 | 404 | 405 | 409 | 413 | 415 | 422 | 500 | 503;

export interface ErrorBody {
  error: { code: ApiErrorCode; message: string };
}

/** An error meant for the client: its message is shown as is, so it must never carry internals. */
export class ApiError extends Error {
  constructor(
    readonly status: ErrorStatus,
    readonly code: ApiErrorCode,
    message: string,
    readonly headers: Record<string, string> = {},
  ) {
    super(message);
    this.name = 'ApiError';
  }
}

export const STATUS_BY_CORE_CODE: Record<TastemakerErrorCode, ErrorStatus> = {
  INVALID_ARGUMENT: 400,
  INVALID_CONFIG: 400,
  DATA_FORMAT: 400,
  NOT_FOUND: 404,
  BUNDLE_INVALID: 422,
  BUNDLE_CHECKSUM_MISMATCH: 422,
  BUNDLE_SIGNATURE_MISMATCH: 422,
  BUNDLE_UNSUPPORTED: 422,
  DEVICE_UNAVAILABLE: 503,
  DISPOSED: 503,
  INTERNAL: 500,
};

export function errorBody(code: ApiErrorCode, message: string): ErrorBody {
  return { error: { code, message } };
}
