import { createEventLog, type Logger } from "@tollgate/shared";
import { paywallEventLevel } from "../logging/eventLevels.js";
import type { Store, StoreRecord } from "../store/store.js";
import type { PaywallEvent } from "../verify/laneContext.js";
import { eventRecord } from "./eventRecord.js";

/** Parameters of `createEmitter`. */
export type CreateEmitterParameters = Readonly<{
  /** Receives every event; its throw is ignored. */
  onEvent: ((event: PaywallEvent) => void) | undefined;
  /** Writes every event as one redacted line (`createEventLog`), beside `onEvent`. */
  logger?: Logger | undefined;
  /** Keeps the analytics record of every event but `error`. */
  store: Store;
  /** The clock, in milliseconds: each record's `at`. */
  now: () => number;
  /**
   * Most records waiting to be written; a record that finds the queue full is dropped and counted (`dropped`).
   * @default 10_000
   */
  maxQueue?: number;
  /**
   * A flush starts once this many records wait (else after `flushIntervalMs`).
   * @default 256
   */
  batchSize?: number;
  /**
   * Longest a record waits before a flush starts, in milliseconds.
   * @default 1_000
   */
  flushIntervalMs?: number;
}>;

/** The paywall's emitter: `emit` on the paid path, and the queue of analytics records behind it. */
export type Emitter = Readonly<{
  /** Hands an event to `onEvent` and queues its record; never waits, never throws. */
  emit(event: PaywallEvent): void;
  /** Records dropped because the queue was full, since start. */
  dropped(): number;
  /** Writes every queued record (resolves once written or failed; a failure is reported as an `error` event). */
  flush(): Promise<void>;
}>;

/**
 * The paywall's `emit`: hands each event to `onEvent` and queues its analytics record; the queue is written to
 * the store off the paid path, in batches, one flush at a time. The queue is bounded: when full, a record is
 * dropped and counted, so a slow or failing store never blocks or fails a payment. Neither an observer's throw
 * nor a failed write changes a payment's outcome; a failed write is reported as an `error`.
 */
export function createEmitter(parameters: CreateEmitterParameters): Emitter {
  const { onEvent, store, now, maxQueue = 10_000, batchSize = 256, flushIntervalMs = 1_000 } = parameters;
  const log = createEventLog({ logger: parameters.logger, component: "paywall", levelOf: paywallEventLevel });
  let queue: StoreRecord[] = [];
  let dropped = 0;
  let timer: ReturnType<typeof setTimeout> | undefined;
  let timerDelayMs = 0;
  let flushing: Promise<void> | undefined;

  const report = (event: PaywallEvent) => {
    log(event);
    try {
      onEvent?.(event);
    } catch {
      // An observer's failure must not change a payment's outcome.
    }
  };

  async function write(batch: readonly StoreRecord[]): Promise<void> {
    try {
      await store.recordBatch(batch);
    } catch (error) {
      report({ type: "error", where: "store.record", error });
    }
  }

  function flush(): Promise<void> {
    if (timer !== undefined) {
      clearTimeout(timer);
      timer = undefined;
    }
    flushing ??= (async () => {
      while (queue.length > 0) {
        const batch = queue;
        queue = [];
        await write(batch);
      }
    })().finally(() => {
      flushing = undefined;
    });
    return flushing;
  }

  function schedule(delayMs: number): void {
    // A pending timer that fires as soon or sooner stays: `emit` runs on the paid path, once per event.
    if (timer !== undefined && (delayMs > 0 || timerDelayMs === 0)) return;
    if (timer !== undefined) clearTimeout(timer);
    timerDelayMs = delayMs;
    timer = setTimeout(() => {
      timer = undefined;
      void flush();
    }, delayMs);
    timer.unref?.();
  }

  return Object.freeze({
    emit(event: PaywallEvent): void {
      report(event);
      if (event.type === "error") return;
      if (queue.length >= maxQueue) {
        dropped++;
        return;
      }
      queue.push(eventRecord(event, now()));
      if (queue.length >= batchSize) schedule(0);
      else schedule(flushIntervalMs);
    },
    dropped: () => dropped,
    flush,
  });
}
