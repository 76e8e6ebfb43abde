import type { Store } from "../store/store.js";

/** Parameters of `instrumentStore`. */
export type InstrumentStoreParameters<S extends Store> = Readonly<{
  store: S;
  /** Called after an operation's promise resolves, with the method's name. */
  onSuccess: (operation: string) => void;
  /** Called after an operation's promise rejects, with the rejection (which still reaches the caller). */
  onFailure: (error: unknown, operation: string) => void;
}>;

/** Methods that are not store operations: a resolved `close` says nothing about the store being reachable. */
const notOperations = new Set(["close", "constructor"]);

/**
 * A thin wrapper of a store that reports each asynchronous operation's outcome, leaving the results, the
 * rejections and `this` of the original untouched. Every method is wrapped (those of implementations beyond
 * `Store`, such as a SQL store's `sweep`, too), found on the object and its prototypes; other properties read
 * through to the original.
 *
 * @example
 * ```ts
 * import { createMemoryStore } from "@tollgate/server";
 * import { instrumentStore } from "@tollgate/server/metrics";
 * const store = instrumentStore({
 *   store: createMemoryStore(),
 *   onSuccess: (operation) => console.log(operation, "ok"),
 *   onFailure: (error, operation) => console.log(operation, "failed"),
 * });
 * ```
 */
export function instrumentStore<S extends Store>(parameters: InstrumentStoreParameters<S>): S {
  const { store, onSuccess, onFailure } = parameters;
  const report = (run: () => void) => {
    try {
      run();
    } catch {
      // An observer's failure must not change the store's answer.
    }
  };
  const wrapped: Record<PropertyKey, unknown> = {};
  const seen = new Set<PropertyKey>();
  for (
    let source: object | null = store;
    source !== null && source !== Object.prototype;
    source = Object.getPrototypeOf(source)
  ) {
    for (const key of Reflect.ownKeys(source)) {
      if (seen.has(key)) continue;
      seen.add(key);
      const value: unknown = Reflect.get(store, key);
      if (typeof value !== "function") {
        Object.defineProperty(wrapped, key, { enumerable: true, get: () => Reflect.get(store, key) });
        continue;
      }
      const method = value as (...args: unknown[]) => unknown;
      if (typeof key === "symbol" || notOperations.has(key)) {
        wrapped[key] = method.bind(store);
        continue;
      }
      wrapped[key] = (...args: unknown[]): unknown => {
        const result = method.apply(store, args);
        if (!(result instanceof Promise)) return result;
        return result.then(
          (answer) => {
            report(() => onSuccess(key));
            return answer;
          },
          (error: unknown) => {
            report(() => onFailure(error, key));
            throw error;
          },
        );
      };
    }
  }
  return Object.freeze(wrapped) as S;
}
