/**
 * Schema of the SQLite store, one migration per version. A database records the version it is at in
 * `PRAGMA user_version`; opening applies the missing migrations in order, each in its own
 * transaction, and refuses a database written by a newer Tastemaker (a higher version) rather than
 * guess at its layout. Append new migrations; never edit a released one.
 */
export interface Migration {
  version: number;
  description: string;
  sql: string;
}

export const MIGRATIONS: readonly Migration[] = [
  {
    version: 1,
    description: 'event log, recommendations and impressions, catalogue, users, policy state',
    sql: `
      CREATE TABLE events (
        seq INTEGER PRIMARY KEY AUTOINCREMENT,
        event_id TEXT NOT NULL UNIQUE,
        type TEXT NOT NULL,
        user_id TEXT NOT NULL,
        item_id TEXT NOT NULL,
        recomm_id TEXT,
        position INTEGER,
        value REAL,
        ts INTEGER NOT NULL,
        received_at INTEGER NOT NULL,
        context TEXT
      );
      CREATE INDEX events_user_ts ON events (user_id, ts);
      CREATE INDEX events_recomm ON events (recomm_id) WHERE recomm_id IS NOT NULL;
      CREATE INDEX events_item ON events (item_id);

      CREATE TABLE recommendations (
        recomm_id TEXT PRIMARY KEY,
        user_id TEXT,
        model TEXT NOT NULL,
        policy TEXT NOT NULL,
        created_at INTEGER NOT NULL,
        context TEXT,
        user_features BLOB
      ) WITHOUT ROWID;
      CREATE INDEX recommendations_user ON recommendations (user_id) WHERE user_id IS NOT NULL;

      CREATE TABLE impressions (
        recomm_id TEXT NOT NULL,
        item_id TEXT NOT NULL,
        position INTEGER NOT NULL,
        score REAL NOT NULL,
        propensity REAL NOT NULL,
        trial INTEGER NOT NULL DEFAULT 0,
        reward REAL,
        PRIMARY KEY (recomm_id, item_id)
      ) WITHOUT ROWID;

      CREATE TABLE items (
        item_id TEXT PRIMARY KEY,
        attributes TEXT NOT NULL,
        hidden INTEGER NOT NULL DEFAULT 0,
        created_at INTEGER NOT NULL,
        updated_at INTEGER NOT NULL
      ) WITHOUT ROWID;
      CREATE INDEX items_hidden ON items (item_id) WHERE hidden = 1;

      CREATE TABLE users (
        user_id TEXT PRIMARY KEY,
        attributes TEXT NOT NULL,
        created_at INTEGER NOT NULL,
        updated_at INTEGER NOT NULL
      ) WITHOUT ROWID;

      CREATE TABLE policy_state (
        policy TEXT NOT NULL,
        key TEXT NOT NULL,
        json TEXT,
        blob BLOB,
        updated_at INTEGER NOT NULL,
        PRIMARY KEY (policy, key)
      ) WITHOUT ROWID;
    `,
  },
];

export const SCHEMA_VERSION = MIGRATIONS.length;
