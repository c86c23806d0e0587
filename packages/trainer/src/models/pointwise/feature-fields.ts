/**
 * Categorical features of a (user, item) pair, grouped into fields, for the CTR models (LR, Poly2,
 * FM, FFM, Wide & Deep, DLRM). Every pair has the same fixed number of slots: the user's slots
 * (user id, then one or more per user side field) followed by the item's (item id, item side
 * fields). A slot holds a global feature index and a value; unused slots hold the padding feature
 * `nFeatures` with value 0, whose parameters stay zero, so a fixed-width layout serves both the
 * typed-array training loops and the exported ONNX graphs (a Gather of a [rows, slots] table).
 *
 * Side features come from the Dataset's FeatureMatrix columns named `field:value` (ML-100K:
 * age:25-34, gender:F, occupation:writer, genre:Comedy); columns are grouped into one field per
 * prefix. A row with several active columns in a field (a movie's genres) fills several slots with
 * value 1/count, so a field's total weight is the same whether it holds one value or many. When
 * the items have titles ending in "(YYYY)", as MovieLens' do, the release year becomes an item
 * field too (buckets below).
 */
import type { Dataset, FeatureMatrix } from '../../data/dataset.js';
import type { GraphBuilder, Value } from '../../onnx/builder.js';

export interface CtrField {
  name: string;
  side: 'user' | 'item';
  /** first global feature index of this field */
  offset: number;
  /** number of distinct features (values) in the field */
  size: number;
  /** feature names, `${field}:${value}` */
  names: string[];
}

export interface CtrFeatures {
  nUsers: number;
  nItems: number;
  fields: CtrField[];
  /** number of real features; index `nFeatures` is the padding feature */
  nFeatures: number;
  userSlots: number;
  itemSlots: number;
  /** field index of each of the userSlots + itemSlots slots */
  slotField: Int32Array;
  /** [(nUsers + 1) · userSlots]; row nUsers is the unknown user (all padding) */
  userIndex: Int32Array;
  userValue: Float32Array;
  /** [nItems · itemSlots] */
  itemIndex: Int32Array;
  itemValue: Float32Array;
}

export interface CtrFeatureOptions {
  /** use the data set's side features (default true); false leaves user id × item id only */
  sideFeatures?: boolean;
}

interface Column {
  field: string;
  feature: string;
  column: number;
}

interface SideField {
  name: string;
  names: string[];
  /** per row, the (feature index within the field, value) of its active entries */
  rows: { feature: number; value: number }[][];
}

/** Groups `field:value` columns of a FeatureMatrix into fields; a column without ':' is a field of its own. */
function sideFields(f: FeatureMatrix | undefined, rows: number): SideField[] {
  if (f === undefined || f.names.length === 0 || f.values.length !== rows * f.names.length) return [];
  const c = f.names.length;
  const groups = new Map<string, Column[]>();
  f.names.forEach((name, column) => {
    const at = name.indexOf(':');
    const field = at > 0 ? name.slice(0, at) : name;
    const list = groups.get(field) ?? [];
    list.push({ field, feature: name, column });
    groups.set(field, list);
  });
  const out: SideField[] = [];
  for (const [name, columns] of groups) {
    const perRow: { feature: number; value: number }[][] = [];
    let any = false;
    for (let r = 0; r < rows; r++) {
      const active: { feature: number; value: number }[] = [];
      columns.forEach((col, k) => {
        const v = f.values[r * c + col.column] as number;
        if (v !== 0 && Number.isFinite(v)) active.push({ feature: k, value: v });
      });
      // several active binary columns share the field's unit weight
      const binary = active.every((a) => a.value === 1);
      if (binary && active.length > 1) for (const a of active) a.value = 1 / active.length;
      if (active.length > 0) any = true;
      perRow.push(active);
    }
    if (any) out.push({ name, names: columns.map((col) => col.feature), rows: perRow });
  }
  return out;
}

/** Release-year buckets: decades up to the 1980s, then single years (most of MovieLens is 1990s). */
export function yearBucket(year: number): string {
  if (year < 1930) return '<1930';
  if (year < 1990) return `${Math.floor(year / 10) * 10}s`;
  return String(year);
}

const TITLE_YEAR = /\((\d{4})\)\s*$/;

function yearField(titles: readonly string[] | undefined, nItems: number): SideField | undefined {
  if (titles === undefined || titles.length < nItems) return undefined;
  const buckets = new Map<string, number>();
  const labels: (string | undefined)[] = [];
  for (let i = 0; i < nItems; i++) {
    const m = TITLE_YEAR.exec(titles[i] ?? '');
    labels.push(m ? yearBucket(Number(m[1])) : undefined);
  }
  const sorted = [...new Set(labels.filter((l): l is string => l !== undefined))].sort();
  if (sorted.length === 0) return undefined;
  sorted.forEach((l, k) => buckets.set(l, k));
  return {
    name: 'year',
    names: sorted.map((l) => `year:${l}`),
    rows: labels.map((l) => (l === undefined ? [] : [{ feature: buckets.get(l) as number, value: 1 }])),
  };
}

/** The slot layout of `dataset`'s users and items (`nUsers`/`nItems` may exceed the id maps). */
export function buildCtrFeatures(dataset: Dataset, nUsers: number, nItems: number, options: CtrFeatureOptions = {}): CtrFeatures {
  const side = options.sideFeatures ?? true;
  const userSide = side ? sideFields(dataset.userFeatures, nUsers) : [];
  const itemSide = side ? sideFields(dataset.itemFeatures, nItems) : [];
  const year = side ? yearField(dataset.itemTitles, nItems) : undefined;
  if (year !== undefined && !itemSide.some((f) => f.name === 'year')) itemSide.push(year);

  const fields: CtrField[] = [];
  let offset = 0;
  const addField = (name: string, s: 'user' | 'item', names: string[]): CtrField => {
    const f: CtrField = { name, side: s, offset, size: names.length, names };
    offset += names.length;
    fields.push(f);
    return f;
  };
  const userIdField = addField('user', 'user', Array.from({ length: nUsers }, (_, u) => `user:${dataset.users.ids[u] ?? u}`));
  const userSideFields = userSide.map((s) => ({ s, f: addField(s.name, 'user', s.names) }));
  const itemIdField = addField('item', 'item', Array.from({ length: nItems }, (_, i) => `item:${dataset.items.ids[i] ?? i}`));
  const itemSideFields = itemSide.map((s) => ({ s, f: addField(s.name, 'item', s.names) }));
  const nFeatures = offset;

  const slotsOf = (s: SideField): number => Math.max(1, ...s.rows.map((r) => r.length));
  const userSlots = 1 + userSide.reduce((n, s) => n + slotsOf(s), 0);
  const itemSlots = 1 + itemSide.reduce((n, s) => n + slotsOf(s), 0);
  const slotField = new Int32Array(userSlots + itemSlots);
  let slot = 0;
  slotField[slot++] = fields.indexOf(userIdField);
  for (const { s, f } of userSideFields) for (let k = 0; k < slotsOf(s); k++) slotField[slot++] = fields.indexOf(f);
  slotField[slot++] = fields.indexOf(itemIdField);
  for (const { s, f } of itemSideFields) for (let k = 0; k < slotsOf(s); k++) slotField[slot++] = fields.indexOf(f);

  const fill = (rows: number, width: number, idField: CtrField, sides: { s: SideField; f: CtrField }[], padRows: number) => {
    const index = new Int32Array((rows + padRows) * width).fill(nFeatures);
    const value = new Float32Array((rows + padRows) * width);
    for (let r = 0; r < rows; r++) {
      let o = r * width;
      index[o] = idField.offset + r;
      value[o] = 1;
      o++;
      for (const { s, f } of sides) {
        const n = slotsOf(s);
        const active = s.rows[r] ?? [];
        for (let k = 0; k < active.length; k++) {
          index[o + k] = f.offset + (active[k] as { feature: number }).feature;
          value[o + k] = (active[k] as { value: number }).value;
        }
        o += n;
      }
    }
    return { index, value };
  };
  const users = fill(nUsers, userSlots, userIdField, userSideFields, 1);
  const items = fill(nItems, itemSlots, itemIdField, itemSideFields, 0);
  return {
    nUsers,
    nItems,
    fields,
    nFeatures,
    userSlots,
    itemSlots,
    slotField,
    userIndex: users.index,
    userValue: users.value,
    itemIndex: items.index,
    itemValue: items.value,
  };
}

export function slotCount(f: CtrFeatures): number {
  return f.userSlots + f.itemSlots;
}

/**
 * The slots of pairs (users[b], items[b]) into `index`/`value` [pairs, slots]; a user outside
 * [0, nUsers) is the unknown user (padding only).
 */
export function pairSlots(f: CtrFeatures, users: Int32Array, items: Int32Array, index?: Int32Array, value?: Float32Array): { index: Int32Array; value: Float32Array } {
  const K = f.userSlots + f.itemSlots;
  const n = users.length;
  const idx = index ?? new Int32Array(n * K);
  const val = value ?? new Float32Array(n * K);
  const ku = f.userSlots;
  const ki = f.itemSlots;
  for (let b = 0; b < n; b++) {
    let u = users[b] as number;
    if (!(u >= 0 && u < f.nUsers)) u = f.nUsers;
    const i = items[b] as number;
    idx.set(f.userIndex.subarray(u * ku, u * ku + ku), b * K);
    val.set(f.userValue.subarray(u * ku, u * ku + ku), b * K);
    idx.set(f.itemIndex.subarray(i * ki, i * ki + ki), b * K + ku);
    val.set(f.itemValue.subarray(i * ki, i * ki + ki), b * K + ku);
  }
  return { index: idx, value: val };
}

/**
 * The same in an ONNX graph: `userIndex` int64 [batch] in [0, nUsers] (nUsers = unknown) and
 * `itemIndex` int64 [batch] in [0, nItems) → slot feature indices int64 [batch, slots] and values
 * float32 [batch, slots], gathered from the layout's tables stored as initializers.
 */
export function pairSlotsGraph(g: GraphBuilder, f: CtrFeatures, userIndex: Value, itemIndex: Value): { index: Value; value: Value } {
  const uIdx = g.initializer('ctr.user_slots', BigInt64Array.from(f.userIndex, (v) => BigInt(v)), [f.nUsers + 1, f.userSlots]);
  const uVal = g.initializer('ctr.user_values', f.userValue, [f.nUsers + 1, f.userSlots]);
  const iIdx = g.initializer('ctr.item_slots', BigInt64Array.from(f.itemIndex, (v) => BigInt(v)), [f.nItems, f.itemSlots]);
  const iVal = g.initializer('ctr.item_values', f.itemValue, [f.nItems, f.itemSlots]);
  const gather = (table: Value, at: Value, name: string) => g.op('Gather', [table, at], { axis: 0 }, { name });
  const index = g.op('Concat', [gather(uIdx, userIndex, 'ctr.user_slot_rows'), gather(iIdx, itemIndex, 'ctr.item_slot_rows')], { axis: 1 }, { name: 'ctr.slots' });
  const value = g.op('Concat', [gather(uVal, userIndex, 'ctr.user_value_rows'), gather(iVal, itemIndex, 'ctr.item_value_rows')], { axis: 1 }, { name: 'ctr.values' });
  return { index, value };
}
