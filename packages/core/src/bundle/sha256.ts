/** Hex sha256 via WebCrypto, which both node (>= 19, globalThis.crypto) and edge runtimes provide. */
export async function sha256Hex(bytes: Uint8Array): Promise<string> {
  // WebCrypto wants an ArrayBuffer-backed view; a view over a SharedArrayBuffer is copied first.
  const view: Uint8Array<ArrayBuffer> =
    bytes.buffer instanceof ArrayBuffer ? (bytes as Uint8Array<ArrayBuffer>) : new Uint8Array(bytes);
  const digest = new Uint8Array(await globalThis.crypto.subtle.digest('SHA-256', view));
  let hex = '';
  for (const b of digest) hex += b.toString(16).padStart(2, '0');
  return hex;
}
