/**
 * Demographic vocabularies shared by the MovieLens readers, so ML-100K and ML-1M user features
 * have the same column names and a model trained on one lines up with the other.
 */

/** ML-1M's age codes are the lower bounds of these buckets; ML-100K exact ages are bucketed to match. */
export const AGE_BUCKETS = ['<18', '18-24', '25-34', '35-44', '45-49', '50-55', '56+'] as const;
const AGE_LOWER_BOUNDS = [0, 18, 25, 35, 45, 50, 56] as const;

/** Bucket index for an exact age. */
export function ageBucket(age: number): number {
  let b = 0;
  for (let i = 0; i < AGE_LOWER_BOUNDS.length; i++) if (age >= (AGE_LOWER_BOUNDS[i] as number)) b = i;
  return b;
}

/** Bucket index for an ML-1M age code (1, 18, 25, 35, 45, 50, 56), or -1 when it is not one. */
export function ageCodeBucket(code: number): number {
  if (code === 1) return 0;
  return (AGE_LOWER_BOUNDS as readonly number[]).indexOf(code, 1);
}

export const GENDERS = ['M', 'F'] as const;

/** ML-1M occupation codes 0–20, named as in its README. */
export const ML1M_OCCUPATIONS = [
  'other',
  'academic/educator',
  'artist',
  'clerical/admin',
  'college/grad student',
  'customer service',
  'doctor/health care',
  'executive/managerial',
  'farmer',
  'homemaker',
  'K-12 student',
  'lawyer',
  'programmer',
  'retired',
  'sales/marketing',
  'scientist',
  'self-employed',
  'technician/engineer',
  'tradesman/craftsman',
  'unemployed',
  'writer',
] as const;

/** ML-1M's 18 genres in README order; ML-100K reads its 19 (with "unknown") from u.genre. */
export const ML1M_GENRES = [
  'Action',
  'Adventure',
  'Animation',
  "Children's",
  'Comedy',
  'Crime',
  'Documentary',
  'Drama',
  'Fantasy',
  'Film-Noir',
  'Horror',
  'Musical',
  'Mystery',
  'Romance',
  'Sci-Fi',
  'Thriller',
  'War',
  'Western',
] as const;

/** Column names for the user features both MovieLens readers produce. */
export function userFeatureNames(occupations: readonly string[]): string[] {
  return [
    ...AGE_BUCKETS.map((b) => `age:${b}`),
    ...GENDERS.map((g) => `gender:${g}`),
    ...occupations.map((o) => `occupation:${o}`),
  ];
}
