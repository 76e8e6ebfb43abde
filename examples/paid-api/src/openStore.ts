import { createMemoryStore, type Store, type StoreAdmin } from "@tollgate/server";
import type { PaidApiConfig } from "./config.js";

/** Which store the configuration chose: at most one of `TOLLGATE_DATA_DIR`, `DATABASE_URL`, `REDIS_URL`. */
export type StoreChoice =
  | Readonly<{ kind: "memory" }>
  | Readonly<{ kind: "embedded"; dataDir: string }>
  | Readonly<{ kind: "postgres"; url: string; schema: string }>
  | Readonly<{ kind: "redis"; url: string; prefix: string }>;

/** An open store of the reference server, and how to close it on shutdown. */
export type OpenedStore = Readonly<{
  store: Store & StoreAdmin;
  choice: StoreChoice;
  /** Where the state lives, for the start-up line: never a URL (it may carry a password). */
  description: string;
  close(): Promise<void>;
}>;

/**
 * The store the configuration asks for. `loadConfig` already refused more than one.
 *
 * @example
 * ```ts
 * import { loadConfig, storeChoiceOf } from "paid-api";
 * storeChoiceOf(loadConfig({ ...process.env, TOLLGATE_DATA_DIR: ".tollgate" })); // { kind: "embedded", … }
 * ```
 */
export function storeChoiceOf(config: PaidApiConfig): StoreChoice {
  if (config.TOLLGATE_DATA_DIR !== undefined) return { kind: "embedded", dataDir: config.TOLLGATE_DATA_DIR };
  if (config.DATABASE_URL !== undefined)
    return { kind: "postgres", url: config.DATABASE_URL, schema: config.TOLLGATE_POSTGRES_SCHEMA };
  if (config.REDIS_URL !== undefined)
    return { kind: "redis", url: config.REDIS_URL, prefix: config.TOLLGATE_REDIS_PREFIX };
  return { kind: "memory" };
}

/**
 * Opens the store the configuration chose: the embedded PGlite store in `TOLLGATE_DATA_DIR`, PostgreSQL at
 * `DATABASE_URL` (migrations applied at start, in `TOLLGATE_POSTGRES_SCHEMA`), Redis at `REDIS_URL` (keys under
 * `TOLLGATE_REDIS_PREFIX`), or, with
 * none of them, the memory store (everything lost on a restart). Each driver is loaded only when chosen.
 *
 * @example
 * ```ts
 * import { loadConfig, openStore } from "paid-api";
 * const opened = await openStore(loadConfig(process.env));
 * // … createPaidApi({ config, chains, store: opened.store }) … on shutdown:
 * await opened.close();
 * ```
 * @throws `SERVER__STORE_FAILED` when the store cannot be opened (a second process on one data directory,
 *   PostgreSQL or Redis unreachable); `SERVER__INVALID_CONFIG` when Redis may evict keys.
 */
export async function openStore(config: PaidApiConfig): Promise<OpenedStore> {
  const choice = storeChoiceOf(config);
  switch (choice.kind) {
    case "embedded": {
      const { createEmbeddedStore } = await import("@tollgate/server/embedded");
      const store = await createEmbeddedStore({ dataDir: choice.dataDir });
      return { store, choice, description: `embedded (PGlite) in ${choice.dataDir}`, close: store.close };
    }
    case "postgres": {
      const { createPostgresStore } = await import("@tollgate/server/postgres");
      const store = await createPostgresStore({
        pool: { connectionString: choice.url },
        schema: choice.schema,
      });
      return { store, choice, description: `PostgreSQL (schema ${choice.schema})`, close: store.close };
    }
    case "redis": {
      const { createRedisStore } = await import("@tollgate/server/redis");
      const store = await createRedisStore({ redis: choice.url, prefix: choice.prefix });
      return { store, choice, description: `Redis (prefix ${choice.prefix})`, close: store.close };
    }
    case "memory":
      return {
        store: createMemoryStore(),
        choice,
        description: "memory (lost on a restart: set TOLLGATE_DATA_DIR)",
        close: async () => undefined,
      };
  }
}
