import { TastemakerError } from '@tastemaker/core';

/** Shared argument checks for TrainedModel.scoreBatch and fit options, so every model fails alike. */
export function checkScoreBatch(model: string, users: Int32Array, histories: readonly Int32Array[], nUsers: number, nItems: number): void {
  if (users.length !== histories.length) {
    throw new TastemakerError('INVALID_ARGUMENT', `${model}.scoreBatch: ${users.length} users but ${histories.length} histories`);
  }
  for (let b = 0; b < users.length; b++) {
    const u = users[b]!;
    if (u < -1 || u >= nUsers) throw new TastemakerError('INVALID_ARGUMENT', `${model}.scoreBatch: user index ${u} outside [-1, ${nUsers})`, { row: b });
    for (const h of histories[b]!) {
      if (h < 0 || h >= nItems) throw new TastemakerError('INVALID_ARGUMENT', `${model}.scoreBatch: history item ${h} outside [0, ${nItems})`, { row: b });
    }
  }
}

/** A numeric hyper-parameter from options or `--set` (strings are parsed), `fallback` when absent. */
export function numberOption(model: string, name: string, value: unknown, fallback: number, valid: (v: number) => boolean, hint: string): number {
  if (value === undefined) return fallback;
  const v = typeof value === 'string' ? Number(value) : value;
  if (typeof v !== 'number' || !valid(v)) {
    throw new TastemakerError('INVALID_CONFIG', `Invalid ${name} for ${model}: ${JSON.stringify(value)}. ${hint}`, { option: name, got: value });
  }
  return v;
}

/** Predicates for numberOption, shared so every model accepts the same ranges. */
export const positive = (v: number): boolean => Number.isFinite(v) && v > 0;
export const nonNegative = (v: number): boolean => Number.isFinite(v) && v >= 0;
export const positiveInt = (v: number): boolean => Number.isInteger(v) && v >= 1;
