import { type ErrorCode, type ErrorContexts, errorMessages } from "./codes.js";
import { redactError, redactStrings, redactText } from "./redact.js";
import { sanitizeUntrusted } from "./untrustedText.js";

/** Options of `new TollgateError`: the typed context of the code, and the error that caused it. */
export type TollgateErrorOptions<C extends ErrorCode> = Readonly<{
  context: ErrorContexts[C];
  cause?: unknown;
}>;

/**
 * The one error class of Tollgate: a stable `code`, the typed `context` of that code, a `shortMessage`
 * from the messages table, and the underlying `cause`. Check it with `isTollgateError`, which reads the
 * `name` rather than `instanceof`, so it also works across duplicated package copies.
 *
 * Errors are logged and read by agents, and a hostile peer can provoke them, so they carry no secret and no raw
 * peer text: every URL in the message, the context and the cause chain loses its credentials, query and key-like
 * path segments (`redactUrl`; a cause that mentions none is kept as it is), and the message has no control
 * characters (`sanitizeUntrusted`). Text a peer chose is quoted in the message and kept in a context field of its own.
 *
 * @example
 * ```ts
 * import { TollgateError, isTollgateError } from "@tollgate/shared";
 * try {
 *   throw new TollgateError("MONEY__NEGATIVE", { context: { input: "-1" } });
 * } catch (e) {
 *   if (isTollgateError(e, "MONEY__NEGATIVE")) console.log(e.context.input);
 * }
 * ```
 */
export class TollgateError<C extends ErrorCode = ErrorCode> extends Error {
  override readonly name = "TollgateError";
  /** Stable code, `AREA__WHAT`; never changes meaning once published. */
  readonly code: C;
  /** Typed data about the failure. */
  readonly context: ErrorContexts[C];
  /** The message without the code prefix or the docs anchor. */
  readonly shortMessage: string;
  /** Where this code is documented. */
  readonly docsPath: string;

  constructor(code: C, options: TollgateErrorOptions<C>) {
    const context = redactStrings(options.context);
    const shortMessage = sanitizeUntrusted(redactText(errorMessages[code](context)), 4096);
    super(
      `[${code}] ${shortMessage}`,
      options.cause === undefined ? undefined : { cause: redactError(options.cause) },
    );
    this.code = code;
    this.context = context;
    this.shortMessage = shortMessage;
    this.docsPath = `docs/errors.md#${errorDocsAnchor(code)}`;
  }
}

/**
 * Whether `error` is a `TollgateError`, optionally of one code. Narrows `context` to that code's type.
 *
 * @example
 * ```ts
 * import { isTollgateError } from "@tollgate/shared";
 * if (isTollgateError(err, "CLIENT__BUDGET_EXHAUSTED")) console.log(err.context.remaining);
 * ```
 */
export function isTollgateError<C extends ErrorCode>(error: unknown, code?: C): error is TollgateError<C> {
  if (typeof error !== "object" || error === null) return false;
  const e = error as { name?: unknown; code?: unknown };
  if (e.name !== "TollgateError" || typeof e.code !== "string") return false;
  return code === undefined || e.code === code;
}

/**
 * The anchor of a code in `docs/errors.md`: `FACILITATOR__TIMEOUT` → `facilitator-timeout`.
 *
 * @example
 * ```ts
 * import { errorDocsAnchor } from "@tollgate/shared";
 * errorDocsAnchor("MONEY__NEGATIVE"); // "money-negative"
 * ```
 */
export function errorDocsAnchor(code: ErrorCode): string {
  return code.toLowerCase().replace(/_+/g, "-");
}
