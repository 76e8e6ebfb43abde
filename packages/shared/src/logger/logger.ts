import { redactError, redactText } from "../errors/redact.js";

/**
 * A logger of pino's shape (`info/warn/error(obj, msg)`, `debug` optional): pino, a pino child, or anything that
 * takes an object and a message. Tollgate hands it objects that are already redacted and JSON-safe (no `bigint`,
 * no `Error` instance).
 *
 * @example
 * ```ts
 * import pino from "pino";
 * import type { Logger } from "@tollgate/shared";
 * const logger: Logger = pino();
 * ```
 */
export type Logger = Readonly<{
  /** Lifecycle events that are routine and frequent (a call to a facilitator or an RPC that answered). */
  debug?: (obj: object, msg?: string) => void;
  /** What happened to a payment. */
  info: (obj: object, msg?: string) => void;
  /** A refusal, a failover, a pending settlement, an unavailable dependency. */
  warn: (obj: object, msg?: string) => void;
  /** An internal failure. */
  error: (obj: object, msg?: string) => void;
}>;

/** A level of `Logger`. */
export type LogLevel = "debug" | "info" | "warn" | "error";

/**
 * Property names whose values are secrets wherever they appear (case-insensitive, `-` and `_` ignored): proofs and
 * their payloads, signatures, prepaid tokens, authorisation and cookie headers, keys and passwords.
 */
const secretNames = new Set([
  "proof",
  "payload",
  "paymentpayload",
  "signature",
  "signatures",
  "token",
  "authorization",
  "proxyauthorization",
  "cookie",
  "setcookie",
  "xpayment",
  "paymentsignature",
  "xtollgatetoken",
  "privatekey",
  "secretkey",
  "secret",
  "password",
  "apikey",
  "adminkey",
  "mnemonic",
  "seed",
  "transactionbytes",
  "serializedtransaction",
]);

/** What stands for a removed value. */
const removed = "[redacted]";

/** Whether a property name holds a secret. */
function isSecretName(name: string): boolean {
  return secretNames.has(name.toLowerCase().replace(/[-_]/g, ""));
}

/** The log-safe form of an error: its name, code and redacted message, never its request, body or headers. */
function safeError(error: unknown): Record<string, unknown> {
  const redacted = redactError(error);
  if (!(redacted instanceof Error)) return { message: redactText(String(redacted)) };
  const record = redacted as Error & { code?: unknown; shortMessage?: unknown };
  return {
    name: redacted.name,
    ...(typeof record.code === "string" || typeof record.code === "number" ? { code: record.code } : {}),
    message: redactText(redacted.message),
  };
}

/**
 * A value made safe for a log line: strings lose the secrets of every URL in them (`redactText`), properties named
 * like secrets (`proof`, `signature`, `token`, `authorization`, …) become `[redacted]`, `bigint`s become decimal
 * strings (atomic units stay exact), errors become `{ name, code, message }` redacted, and nesting stops at depth 8.
 *
 * @example
 * ```ts
 * import { logSafe } from "@tollgate/shared";
 * logSafe({ amount: 10_000n, token: "tg_…", url: "https://rpc.example/v2/AbCd1234efGH5678" });
 * // { amount: "10000", token: "[redacted]", url: "https://rpc.example/v2/[redacted]" }
 * ```
 */
export function logSafe(value: unknown, depth = 0): unknown {
  if (typeof value === "string") return redactText(value);
  if (typeof value === "bigint") return value.toString();
  if (typeof value === "function" || typeof value === "symbol") return undefined;
  if (typeof value !== "object" || value === null) return value;
  if (value instanceof Error) return safeError(value);
  if (depth >= 8) return "[nested]";
  if (value instanceof Uint8Array) return `[${value.byteLength} bytes]`;
  if (Array.isArray(value)) return value.map((v) => logSafe(v, depth + 1));
  const safe: Record<string, unknown> = {};
  for (const [key, v] of Object.entries(value)) {
    if (v === undefined) continue;
    safe[key] = isSecretName(key) ? removed : logSafe(v, depth + 1);
  }
  return safe;
}

/** Parameters of `createEventLog`. */
export type CreateEventLogParameters<E extends Readonly<{ type: string }>> = Readonly<{
  /** Where the lines go; without one, the returned function does nothing. */
  logger: Logger | undefined;
  /** Names the component in every line (`paywall`, `facilitator`, `payingFetch`). */
  component: string;
  /** The level of an event; `debug` lines are skipped by a logger without `debug`. */
  levelOf: (event: E) => LogLevel;
}>;

/**
 * Logs each event as one line: `{ component, ...event }` made safe by `logSafe`, with the message
 * `<component> <type>`. A logger that throws changes nothing (its failure is its own).
 *
 * @example
 * ```ts
 * import { createEventLog } from "@tollgate/shared";
 * const log = createEventLog({ logger, component: "paywall", levelOf: (e) => (e.type === "error" ? "error" : "info") });
 * log({ type: "paid", amount: 10_000n });
 * ```
 */
export function createEventLog<E extends Readonly<{ type: string }>>(
  parameters: CreateEventLogParameters<E>,
): (event: E) => void {
  const { logger, component, levelOf } = parameters;
  if (logger === undefined) return () => {};
  return (event) => {
    try {
      const level = levelOf(event);
      const write = logger[level];
      if (write === undefined) return;
      write.call(logger, { component, ...(logSafe(event) as object) }, `${component} ${event.type}`);
    } catch {
      // A logger's failure must not change a payment's outcome.
    }
  };
}
