import path from 'node:path';

/**
 * Where the shared data sets live. They are never copied into the repository (their terms forbid
 * redistribution); tests and benchmarks read them from `TASTEMAKER_DATA` or `../shared/data`
 * beside the checkout.
 */
export function dataRoot(): string {
  return process.env.TASTEMAKER_DATA ?? path.resolve(process.cwd(), '../shared/data');
}

export function dataPath(...parts: string[]): string {
  return path.join(dataRoot(), ...parts);
}
