import type { Interactions } from './dataset.js';

/**
 * Appends interactions into typed arrays. Readers know an upper bound (the line count) up front,
 * so they pass it as `capacity` and the arrays never grow; `build()` trims to what was added.
 */
export class InteractionsBuilder {
  private user: Int32Array;
  private item: Int32Array;
  private value: Float32Array;
  private timestamp: Float64Array;
  private n = 0;

  constructor(capacity = 1024) {
    const c = Math.max(1, capacity);
    this.user = new Int32Array(c);
    this.item = new Int32Array(c);
    this.value = new Float32Array(c);
    this.timestamp = new Float64Array(c);
  }

  get length(): number {
    return this.n;
  }

  add(user: number, item: number, value: number, timestamp: number = Number.NaN): void {
    if (this.n === this.user.length) this.grow();
    const n = this.n++;
    this.user[n] = user;
    this.item[n] = item;
    this.value[n] = value;
    this.timestamp[n] = timestamp;
  }

  build(): Interactions {
    const n = this.n;
    // slice, not subarray: a subarray would pin the over-allocated buffer for the data set's life
    return {
      user: n === this.user.length ? this.user : this.user.slice(0, n),
      item: n === this.item.length ? this.item : this.item.slice(0, n),
      value: n === this.value.length ? this.value : this.value.slice(0, n),
      timestamp: n === this.timestamp.length ? this.timestamp : this.timestamp.slice(0, n),
    };
  }

  private grow(): void {
    const c = this.user.length * 2;
    const user = new Int32Array(c);
    user.set(this.user);
    const item = new Int32Array(c);
    item.set(this.item);
    const value = new Float32Array(c);
    value.set(this.value);
    const timestamp = new Float64Array(c);
    timestamp.set(this.timestamp);
    this.user = user;
    this.item = item;
    this.value = value;
    this.timestamp = timestamp;
  }
}

/** A one-hot / multi-hot feature matrix under construction. */
export class FeatureMatrixBuilder {
  readonly values: Float32Array;

  constructor(
    readonly rows: number,
    readonly names: string[],
  ) {
    this.values = new Float32Array(rows * names.length);
  }

  set(row: number, column: number, value = 1): void {
    this.values[row * this.names.length + column] = value;
  }

  build(): { names: string[]; values: Float32Array } {
    return { names: this.names, values: this.values };
  }
}
