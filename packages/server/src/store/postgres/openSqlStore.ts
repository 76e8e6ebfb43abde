import { type CreateSqlStoreParameters, createSqlStore, type SqlStore } from "./createSqlStore.js";
import { migrate } from "./migrations.js";
import { startSweepTimer } from "./sweepTimer.js";

/** The background-sweep options every store built on `createSqlStore` takes (PostgreSQL, embedded). */
export type SqlStoreSweepOptions = Readonly<{
  /**
   * Seconds between background sweeps of expired rows; `0` turns the timer off (call `sweep` yourself).
   * @default 60
   */
  sweepEverySeconds?: number;
  /**
   * Rows per table per background sweep.
   * @default 1_000
   */
  sweepBatchSize?: number;
  /**
   * Receives what fails off the paid path: a background sweep's `SERVER__STORE_FAILED` (the next sweep tries again).
   * @default console.warn
   */
  onBackgroundError?: (error: unknown) => void;
}>;

/** Where `onBackgroundError` goes when the caller gives none. */
export const defaultOnBackgroundError = (error: unknown): void => console.warn(error);

/** Parameters of `openSqlStore`. */
export type OpenSqlStoreParameters = CreateSqlStoreParameters &
  SqlStoreSweepOptions &
  Readonly<{
    /** Whether to apply missing migrations before the store is handed out. */
    migrate: boolean;
    /** Frees what the caller opened for `executor` (pool, database, lock); run by `close` and on a failed start. */
    release: () => Promise<void>;
  }>;

/** A SQL store that sweeps in the background: `close` stops the sweeps, then runs `release`. */
export type OpenedSqlStore = SqlStore & Readonly<{ close(): Promise<void> }>;

/**
 * The one start path of the stores on `createSqlStore`: migrate (when asked), build the store, start the sweep
 * timer, and tie `release` to `close`. When the migrations fail, `release` runs and the migration's error is
 * rethrown, so a failed start leaves nothing open.
 *
 * @example
 * ```ts
 * const store = await openSqlStore({ executor, migrate: true, release: () => pool.end() });
 * ```
 * @throws `SERVER__STORE_FAILED` when the migrations cannot run (and whatever `release` throws then).
 */
export async function openSqlStore(parameters: OpenSqlStoreParameters): Promise<OpenedSqlStore> {
  const {
    migrate: migrateAtStart,
    release,
    sweepEverySeconds = 60,
    sweepBatchSize = 1_000,
    onBackgroundError = defaultOnBackgroundError,
    ...storeParameters
  } = parameters;
  const { executor, schema } = storeParameters;
  try {
    if (migrateAtStart) await migrate({ executor, ...(schema === undefined ? {} : { schema }) });
  } catch (error) {
    await release();
    throw error;
  }
  const store = createSqlStore(storeParameters);
  const stop = startSweepTimer({
    store,
    everySeconds: sweepEverySeconds,
    batchSize: sweepBatchSize,
    onError: onBackgroundError,
  });
  return Object.freeze({
    ...store,
    async close(): Promise<void> {
      stop();
      await release();
    },
  });
}
