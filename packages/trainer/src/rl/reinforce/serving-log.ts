import { existsSync } from 'node:fs';
import { SqliteStore, TastemakerError } from '@tastemaker/core';
import type { Dataset } from '../../data/dataset.js';
import { loggedStepsFromStore, type LoggedRecommendation, type LoggedStep } from './logged.js';

/** Slates read per page of the store's log. */
const PAGE = 1000;

/**
 * Every slate of a server's SQLite store (`tastemaker serve --db FILE`) as REINFORCE's logged steps:
 * each shown item with the propensity the serving policy logged and the reward attributed to it (0
 * without feedback). Ids are the data set's: items it does not know are skipped and counted.
 * The file is opened as the server opens it (an older schema is migrated first) and then only read;
 * in WAL mode a running server keeps writing meanwhile, and each page is a consistent snapshot.
 */
export async function stepsFromServingLog(
  path: string,
  dataset: Dataset,
  options: { stateSize: number; gamma: number },
): Promise<{ steps: LoggedStep[]; slates: number; skipped: number }> {
  if (!existsSync(path)) throw new TastemakerError('INVALID_ARGUMENT', `reinforce: no serving log at ${path} (give the server's SQLite file, as in tastemaker serve --db FILE)`, { path });
  const store = new SqliteStore(path, { backgroundThread: false });
  const records: LoggedRecommendation[] = [];
  try {
    for (let afterSeq: number | undefined; ; ) {
      const page = await store.listRecommendations({ ...(afterSeq !== undefined ? { afterSeq } : {}), limit: PAGE });
      records.push(...page.slates);
      if (page.next === undefined || page.slates.length < PAGE) break;
      afterSeq = page.next;
    }
  } finally {
    await store.close();
  }
  const itemIndex = new Map(dataset.items.ids.map((id, i) => [id, i] as const));
  const userIndex = new Map(dataset.users.ids.map((id, u) => [id, u] as const));
  const { steps, skipped } = loggedStepsFromStore(records, itemIndex, { ...options, userIndex });
  if (steps.length === 0) {
    throw new TastemakerError('INVALID_ARGUMENT', `reinforce: the serving log at ${path} has no impression of an item in this data set (${records.length} slates read)`, { path, slates: records.length });
  }
  return { steps, slates: records.length, skipped };
}
