import type { SqlStore } from "./createSqlStore.js";

/** Parameters of `startSweepTimer`. */
export type StartSweepTimerParameters = Readonly<{
  store: SqlStore;
  /** Seconds between sweeps; `0` starts none. */
  everySeconds: number;
  /** Rows per table per sweep. */
  batchSize: number;
  /** Receives a failed sweep's `SERVER__STORE_FAILED` (the next sweep tries again). */
  onError: (error: unknown) => void;
}>;

/**
 * Sweeps a SQL store's expired rows every `everySeconds`, off the paid path: one sweep at a time, the timer
 * unreferenced (it never keeps a process alive). Returns the function that stops it.
 */
export function startSweepTimer(parameters: StartSweepTimerParameters): () => void {
  const { store, everySeconds, batchSize, onError } = parameters;
  if (everySeconds <= 0) return () => {};
  let running = false;
  const timer = setInterval(() => {
    if (running) return;
    running = true;
    store
      .sweep({ batchSize })
      .catch(onError)
      .finally(() => {
        running = false;
      });
  }, everySeconds * 1000);
  (timer as { unref?: () => void }).unref?.();
  return () => clearInterval(timer);
}
