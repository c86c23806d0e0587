/**
 * Early stopping on a validation metric: stop after `patience` epochs without improvement and give
 * the model back its best epoch's parameters. The parameters are captured and restored through the
 * model's own hooks, since what a "state" is differs (typed arrays, tfjs variables).
 */
import { TastemakerError } from '@tastemaker/core';

export interface EarlyStoppingOptions<S> {
  /** epochs without improvement before stopping (≥ 1) */
  patience: number;
  /** whether larger (AUC) or smaller (logloss) values are better; default "max" */
  mode?: 'max' | 'min';
  /** an improvement must beat the best by more than this; default 0 */
  minDelta?: number;
  /** copies the current parameters; called whenever an epoch is the best so far */
  capture: () => S;
  /** puts captured parameters back */
  restore: (state: S) => void;
}

export type EarlyStoppingVerdict = 'improved' | 'continue' | 'stop';

export class EarlyStopping<S> {
  readonly patience: number;
  readonly mode: 'max' | 'min';
  readonly minDelta: number;
  private readonly capture: () => S;
  private readonly restoreHook: (state: S) => void;
  private best: { epoch: number; value: number; state: S } | undefined;
  private sinceBest = 0;
  private stopped = false;

  constructor(options: EarlyStoppingOptions<S>) {
    const { patience } = options;
    if (!Number.isInteger(patience) || patience < 1) {
      throw new TastemakerError('INVALID_CONFIG', `Invalid patience ${JSON.stringify(patience)}: it must be an integer ≥ 1.`, { option: 'patience', got: patience });
    }
    const mode = options.mode ?? 'max';
    if (mode !== 'max' && mode !== 'min') {
      throw new TastemakerError('INVALID_CONFIG', `Invalid early-stopping mode ${JSON.stringify(mode)}. Valid values: "max", "min".`, { option: 'mode', got: mode, valid: ['max', 'min'] });
    }
    this.patience = patience;
    this.mode = mode;
    this.minDelta = options.minDelta ?? 0;
    this.capture = options.capture;
    this.restoreHook = options.restore;
  }

  /**
   * Records the validation metric of `epoch`. A NaN or infinite value never counts as an
   * improvement (a diverged epoch must not become the best one).
   */
  observe(epoch: number, value: number): EarlyStoppingVerdict {
    const better =
      Number.isFinite(value) &&
      (this.best === undefined || (this.mode === 'max' ? value > this.best.value + this.minDelta : value < this.best.value - this.minDelta));
    if (better) {
      this.best = { epoch, value, state: this.capture() };
      this.sinceBest = 0;
      return 'improved';
    }
    this.sinceBest++;
    if (this.sinceBest >= this.patience) this.stopped = true;
    return this.stopped ? 'stop' : 'continue';
  }

  get shouldStop(): boolean {
    return this.stopped;
  }

  get bestEpoch(): number | undefined {
    return this.best?.epoch;
  }

  get bestValue(): number | undefined {
    return this.best?.value;
  }

  /**
   * Takes back a 'stop' verdict and gives the run `patience` more epochs from here (the best so far
   * stays the best): for a schedule that lowers the learning rate on a plateau instead of stopping.
   */
  resume(): void {
    this.sinceBest = 0;
    this.stopped = false;
  }

  /** Puts the best epoch's parameters back; false when no epoch was ever recorded as best. */
  restoreBest(): boolean {
    if (this.best === undefined) return false;
    this.restoreHook(this.best.state);
    return true;
  }
}

/** capture/restore hooks for parameters held in typed arrays (copied, then written back in place). */
export function typedArrayState(arrays: readonly Float32Array[]): { capture: () => Float32Array[]; restore: (s: Float32Array[]) => void } {
  return {
    capture: () => arrays.map((a) => a.slice()),
    restore: (s) => arrays.forEach((a, k) => a.set(s[k] as Float32Array)),
  };
}
