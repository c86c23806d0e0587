/** Recorded in every bundle manifest; keep in step with packages/trainer/package.json. */
export const TRAINER_VERSION = '0.1.0';
