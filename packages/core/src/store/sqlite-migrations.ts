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
  {
    version: 2,
    description: 'a served slate is one row (its items as JSON); impression rows only for items with feedback',
    // Under load the log's per-item rows were most of the recommendation log's write cost (a slate of
    // 10 was 11 B-tree inserts, each repeating the 36-character recommId in a WITHOUT ROWID key):
    // a rowid table appends one row per slate at its right edge, and the unique index on the
    // time-ordered recommId (uuidV7) does too. Attribution looks the item up in the slate and upserts
    // its impression row, which keeps position, score and propensity beside the feedback, so the
    // impressions table alone is the attributed log an off-policy estimator reads. score becomes
    // nullable there, as in the slate, where a non-finite score is null.
    sql: `
      CREATE TABLE recommendations_v2 (
        recomm_id TEXT NOT NULL UNIQUE,
        user_id TEXT,
        model TEXT NOT NULL,
        policy TEXT NOT NULL,
        created_at INTEGER NOT NULL,
        context TEXT,
        user_features BLOB,
        -- JSON array of [itemId, position, score, propensity] in position order
        slate TEXT NOT NULL
      );
      INSERT INTO recommendations_v2 (recomm_id, user_id, model, policy, created_at, context, user_features, slate)
        SELECT r.recomm_id, r.user_id, r.model, r.policy, r.created_at, r.context, r.user_features,
          (SELECT json_group_array(json_array(i.item_id, i.position, i.score, i.propensity) ORDER BY i.position)
             FROM impressions i WHERE i.recomm_id = r.recomm_id)
        FROM recommendations r ORDER BY r.created_at, r.recomm_id;
      DROP TABLE recommendations;
      ALTER TABLE recommendations_v2 RENAME TO recommendations;
      CREATE INDEX recommendations_user ON recommendations (user_id) WHERE user_id IS NOT NULL;

      CREATE TABLE impressions_v2 (
        recomm_id TEXT NOT NULL,
        item_id TEXT NOT NULL,
        position INTEGER NOT NULL,
        score REAL,
        propensity REAL NOT NULL,
        trial INTEGER NOT NULL DEFAULT 0,
        reward REAL,
        PRIMARY KEY (recomm_id, item_id)
      ) WITHOUT ROWID;
      INSERT INTO impressions_v2 SELECT * FROM impressions WHERE trial = 1 OR reward IS NOT NULL;
      DROP TABLE impressions;
      ALTER TABLE impressions_v2 RENAME TO impressions;
    `,
  },
];

export const SCHEMA_VERSION = MIGRATIONS.length;
