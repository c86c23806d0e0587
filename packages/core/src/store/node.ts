// Node only: SqliteStore needs better-sqlite3, a native addon.
export { SqliteStore, type SqliteStoreOptions, type SqliteSynchronous } from './sqlite-store.js';
export { MIGRATIONS, SCHEMA_VERSION, type Migration } from './sqlite-migrations.js';
