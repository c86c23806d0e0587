/** Dense d×d matrices as row-major Float64Array: enough linear algebra for LinUCB, no dependency. */

export function identity(d: number, scale = 1): Float64Array {
  const m = new Float64Array(d * d);
  for (let i = 0; i < d; i++) m[i * d + i] = scale;
  return m;
}

/** out = M x */
export function matVec(m: Float64Array, d: number, x: ArrayLike<number>, out: Float64Array = new Float64Array(d)): Float64Array {
  for (let i = 0; i < d; i++) {
    let sum = 0;
    const row = i * d;
    for (let j = 0; j < d; j++) sum += (m[row + j] as number) * (x[j] as number);
    out[i] = sum;
  }
  return out;
}

export function dot(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let sum = 0;
  for (let i = 0; i < a.length; i++) sum += (a[i] as number) * (b[i] as number);
  return sum;
}

/** xᵀ M x */
export function quadraticForm(m: Float64Array, d: number, x: ArrayLike<number>): number {
  let sum = 0;
  for (let i = 0; i < d; i++) {
    const xi = x[i] as number;
    if (xi === 0) continue;
    let rowSum = 0;
    const row = i * d;
    for (let j = 0; j < d; j++) rowSum += (m[row + j] as number) * (x[j] as number);
    sum += xi * rowSum;
  }
  return sum;
}

/**
 * Sherman–Morrison: given A⁻¹ (symmetric), overwrite it with (A + x xᵀ)⁻¹ in O(d²) instead of
 * re-inverting in O(d³): (A + x xᵀ)⁻¹ = A⁻¹ − (A⁻¹x)(A⁻¹x)ᵀ / (1 + xᵀA⁻¹x).
 */
export function shermanMorrisonUpdate(inverse: Float64Array, d: number, x: ArrayLike<number>): void {
  const u = matVec(inverse, d, x);
  const denominator = 1 + dot(x, u);
  for (let i = 0; i < d; i++) {
    const ui = (u[i] as number) / denominator;
    if (ui === 0) continue;
    const row = i * d;
    for (let j = 0; j < d; j++) inverse[row + j] = (inverse[row + j] as number) - ui * (u[j] as number);
  }
}

/** Gauss–Jordan inverse with partial pivoting; for checks and tests, not the serving path. */
export function invert(m: Float64Array, d: number): Float64Array {
  const a = Float64Array.from(m);
  const inv = identity(d);
  for (let col = 0; col < d; col++) {
    let pivot = col;
    for (let r = col + 1; r < d; r++) if (Math.abs(a[r * d + col] as number) > Math.abs(a[pivot * d + col] as number)) pivot = r;
    const p = a[pivot * d + col] as number;
    if (Math.abs(p) < 1e-300) throw new RangeError('Matrix is singular');
    if (pivot !== col) {
      for (let j = 0; j < d; j++) {
        swap(a, col * d + j, pivot * d + j);
        swap(inv, col * d + j, pivot * d + j);
      }
    }
    for (let j = 0; j < d; j++) {
      a[col * d + j] = (a[col * d + j] as number) / p;
      inv[col * d + j] = (inv[col * d + j] as number) / p;
    }
    for (let r = 0; r < d; r++) {
      if (r === col) continue;
      const f = a[r * d + col] as number;
      if (f === 0) continue;
      for (let j = 0; j < d; j++) {
        a[r * d + j] = (a[r * d + j] as number) - f * (a[col * d + j] as number);
        inv[r * d + j] = (inv[r * d + j] as number) - f * (inv[col * d + j] as number);
      }
    }
  }
  return inv;
}

function swap(a: Float64Array, i: number, j: number): void {
  const t = a[i] as number;
  a[i] = a[j] as number;
  a[j] = t;
}

/** Float64 values as little-endian bytes, whatever the platform, so stored state moves between machines. */
export function float64ToBytes(values: Float64Array): Uint8Array {
  const bytes = new Uint8Array(values.length * 8);
  const view = new DataView(bytes.buffer);
  for (let i = 0; i < values.length; i++) view.setFloat64(i * 8, values[i] as number, true);
  return bytes;
}

export function bytesToFloat64(bytes: Uint8Array): Float64Array {
  const out = new Float64Array(Math.floor(bytes.byteLength / 8));
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  for (let i = 0; i < out.length; i++) out[i] = view.getFloat64(i * 8, true);
  return out;
}
