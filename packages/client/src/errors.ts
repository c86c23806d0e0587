/**
 * Codes the client itself produces. Server error codes (from `{ "error": { "code" } }`) pass
 * through unchanged, so `code` is open-ended; branch on the ones listed here or on `status`.
 */
export type ClientErrorCode =
  | 'INVALID_CONFIG'
  | 'INVALID_ARGUMENT'
  | 'NETWORK_ERROR'
  | 'TIMEOUT'
  | 'HTTP_ERROR'
  | 'INVALID_RESPONSE'
  | 'EVENTS_REJECTED'
  | 'QUEUE_OVERFLOW'
  | 'STORAGE_ERROR'
  | 'DISPOSED';

export class TastemakerClientError extends Error {
  readonly code: ClientErrorCode | (string & {});
  /** HTTP status when the server answered; undefined for network, timeout and local errors. */
  readonly status: number | undefined;
  readonly details: Readonly<Record<string, unknown>> | undefined;

  constructor(
    code: ClientErrorCode | (string & {}),
    message: string,
    extra: { status?: number; details?: Record<string, unknown>; cause?: unknown } = {},
  ) {
    super(message, { cause: extra.cause });
    this.name = 'TastemakerClientError';
    this.code = code;
    this.status = extra.status;
    this.details = extra.details;
  }
}
