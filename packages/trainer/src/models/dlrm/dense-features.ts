/**
 * DLRM's dense (continuous) inputs for a (user, item) pair, built from the training data: the
 * user's and the item's log interaction counts, the item's release year (from a "(YYYY)" title
 * suffix), and the item's side-feature columns as numbers (ML-100K: its 19 genre flags). Columns are
 * standardised over the known rows, so the unknown user's all-zero row is the average user.
 */
import type { Dataset, FeatureMatrix } from '../../data/dataset.js';
import type { DenseFeatures } from '../pointwise/deep-ctr.js';

function standardiseColumns(values: Float32Array, rows: number, width: number): void {
  for (let j = 0; j < width; j++) {
    let mean = 0;
    for (let r = 0; r < rows; r++) mean += values[r * width + j] as number;
    mean /= Math.max(rows, 1);
    let v = 0;
    for (let r = 0; r < rows; r++) v += ((values[r * width + j] as number) - mean) ** 2;
    const sd = Math.sqrt(v / Math.max(rows, 1));
    const scale = sd > 1e-8 ? 1 / sd : 1;
    for (let r = 0; r < rows; r++) values[r * width + j] = ((values[r * width + j] as number) - mean) * scale;
  }
}

const TITLE_YEAR = /\((\d{4})\)\s*$/;

export function buildDenseFeatures(dataset: Dataset, nUsers: number, nItems: number, useItemFeatures: boolean): DenseFeatures {
  const userCount = new Float64Array(nUsers);
  const itemCount = new Float64Array(nItems);
  const { user, item } = dataset.interactions;
  for (let r = 0; r < user.length; r++) {
    userCount[user[r] as number] = (userCount[user[r] as number] as number) + 1;
    itemCount[item[r] as number] = (itemCount[item[r] as number] as number) + 1;
  }
  const names = ['user:log_count', 'item:log_count'];
  const titles = dataset.itemTitles;
  const years = titles ? Array.from({ length: nItems }, (_, i) => TITLE_YEAR.exec(titles[i] ?? '')?.[1]) : [];
  const hasYear = years.some((y) => y !== undefined);
  if (hasYear) names.push('item:year');
  const f: FeatureMatrix | undefined =
    useItemFeatures && dataset.itemFeatures && dataset.itemFeatures.values.length === nItems * dataset.itemFeatures.names.length ? dataset.itemFeatures : undefined;
  if (f) names.push(...f.names.map((n) => `item:${n}`));

  const userWidth = 1;
  const u = new Float32Array((nUsers + 1) * userWidth);
  for (let r = 0; r < nUsers; r++) u[r] = Math.log1p(userCount[r] as number);
  standardiseColumns(u, nUsers, userWidth);
  u[nUsers] = 0;

  const itemWidth = names.length - 1;
  const it = new Float32Array(nItems * itemWidth);
  let yearMean = 0;
  let yearN = 0;
  for (const y of years) if (y !== undefined) {
    yearMean += Number(y);
    yearN++;
  }
  yearMean = yearN > 0 ? yearMean / yearN : 0;
  const c = f?.names.length ?? 0;
  for (let i = 0; i < nItems; i++) {
    let o = i * itemWidth;
    it[o++] = Math.log1p(itemCount[i] as number);
    if (hasYear) {
      const y = years[i];
      it[o++] = y !== undefined ? Number(y) : yearMean;
    }
    if (f) it.set(f.values.subarray(i * c, (i + 1) * c), o);
  }
  standardiseColumns(it, nItems, itemWidth);
  return { userWidth, itemWidth, user: u, item: it, names };
}
