/** Runs `task` after every earlier task of the same key, and resolves (or rejects) with its result. */
export type KeyLock = <T>(key: string, task: () => Promise<T>) => Promise<T>;

/**
 * A lock per key: tasks of one key run one after another, tasks of different keys run side by side. The paying fetch
 * locks each logical request, so that it pays one proof at a time.
 */
export function createKeyLock(): KeyLock {
  const locks = new Map<string, Promise<unknown>>();
  return async function withLock<T>(key: string, task: () => Promise<T>): Promise<T> {
    const previous = locks.get(key) ?? Promise.resolve();
    const run = previous.then(task, task);
    const settled = run.then(
      () => undefined,
      () => undefined,
    );
    locks.set(key, settled);
    try {
      return await run;
    } finally {
      if (locks.get(key) === settled) locks.delete(key);
    }
  };
}
