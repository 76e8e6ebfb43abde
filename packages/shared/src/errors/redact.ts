/** A URL inside free text: a scheme, `://`, and everything up to whitespace or a quote. */
const urlInText = /\b[a-z][a-z0-9+.-]{1,15}:\/\/[^\s"'<>`]+/gi;

/** What stands for a removed secret. */
const redacted = "[redacted]";

/** A path segment that looks like an API key or token: long, URL-safe, letters and digits mixed. */
function looksLikeKey(segment: string, previous: string | undefined): boolean {
  if (!/^[A-Za-z0-9_~.%-]+$/.test(segment)) return false;
  const mixed = /[0-9]/.test(segment) && /[A-Za-z]/.test(segment);
  // Alchemy `/v2/<key>`, Infura `/v3/<project id>` and the like: anything key-sized after a version segment.
  if (previous !== undefined && /^v[0-9]{1,2}$/.test(previous) && segment.length >= 8) return true;
  return segment.length >= 16 && mixed;
}

/**
 * A URL with its secrets removed, for errors, events and logs: credentials (`user:pass@`), the query string, the
 * fragment, and path segments that look like keys (Alchemy or Infura `/v2/<key>`, any long mixed letters-and-digits
 * segment) become `[redacted]`. The scheme, host, port and the rest of the path stay, so the log still says where.
 *
 * @example
 * ```ts
 * import { redactUrl } from "@tollgate/shared";
 * redactUrl("https://u:p@base-mainnet.g.alchemy.com/v2/AbCd1234efGH5678?x=1");
 * // "https://[redacted]@base-mainnet.g.alchemy.com/v2/[redacted]?[redacted]"
 * ```
 */
export function redactUrl(url: string): string {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    // Not a URL the parser reads: drop what could be credentials or a query, keep the rest.
    return url.replace(/\/\/[^/@\s]*@/, `//${redacted}@`).replace(/[?#].*$/, `?${redacted}`);
  }
  const segments = parsed.pathname.split("/");
  const path = segments.map((s, i) => (looksLikeKey(s, segments[i - 1]) ? redacted : s)).join("/");
  const credentials = parsed.username !== "" || parsed.password !== "" ? `${redacted}@` : "";
  // Nothing secret: the URL as it was written.
  if (path === parsed.pathname && credentials === "" && parsed.search === "" && parsed.hash === "")
    return url;
  const hierarchical = url.slice(parsed.protocol.length).startsWith("//");
  return [
    parsed.protocol,
    hierarchical ? "//" : "",
    credentials,
    parsed.host,
    path,
    parsed.search !== "" ? `?${redacted}` : "",
    parsed.hash !== "" ? `#${redacted}` : "",
  ].join("");
}

/**
 * Free text with every URL in it redacted (`redactUrl`): what an error message or a wrapped library's error says
 * about an RPC endpoint keeps its host and loses its key.
 *
 * @example
 * ```ts
 * import { redactText } from "@tollgate/shared";
 * redactText("HTTP request failed. URL: https://mainnet.infura.io/v3/0123456789abcdef0123456789abcdef");
 * // "HTTP request failed. URL: https://mainnet.infura.io/v3/[redacted]"
 * ```
 */
export function redactText(text: string): string {
  return text.replace(urlInText, (match) => {
    // Source locations in stack traces are not secrets.
    if (/^file:/i.test(match)) return match;
    // A sentence's closing punctuation is not part of the URL.
    const trailing = /[.,;:!)\]]+$/.exec(match)?.[0] ?? "";
    return redactUrl(match.slice(0, match.length - trailing.length)) + trailing;
  });
}

/** Properties of library errors (viem, undici, fetch) that may hold a URL or what was sent to it. */
const urlBearing = ["url", "body", "headers", "request", "details", "shortMessage", "metaMessages"] as const;

function changes(value: unknown): boolean {
  if (typeof value === "string") return redactText(value) !== value;
  if (Array.isArray(value)) return value.some(changes);
  if (typeof value === "object" && value !== null && !(value instanceof Error)) {
    try {
      return changes(JSON.stringify(value));
    } catch {
      return true;
    }
  }
  return false;
}

/**
 * An error (and its `cause` chain, and an `AggregateError`'s `errors`) with the secrets of every URL it mentions
 * removed (`redactText`). An error that mentions none is returned as it is, so its identity and class are kept; one
 * that does is copied: the same `name`, `code`, `errno`, `syscall`, redacted `message`, `stack`, `shortMessage` and
 * `details`, and without the properties that hold the request itself (`url`, `body`, `headers`, `request`).
 *
 * @example
 * ```ts
 * import { redactError } from "@tollgate/shared";
 * const safe = redactError(new Error("fetch https://rpc.example/v2/Secret123Secret123 failed"));
 * ```
 */
export function redactError(error: unknown, depth = 0): unknown {
  if (typeof error === "string") return redactText(error);
  if (!(error instanceof Error) || depth > 8) return error;
  const record = error as Error & Record<string, unknown> & { errors?: unknown };
  const cause = record.cause === undefined ? undefined : redactError(record.cause, depth + 1);
  const errors = Array.isArray(record.errors)
    ? record.errors.map((e) => redactError(e, depth + 1))
    : undefined;
  const same =
    cause === record.cause &&
    (errors === undefined || errors.every((e, i) => e === (record.errors as unknown[])[i])) &&
    !changes(error.message) &&
    !urlBearing.some((key) => changes(record[key]));
  if (same) return error;
  const copy = (
    errors === undefined
      ? new Error(redactText(error.message), cause === undefined ? undefined : { cause })
      : new AggregateError(errors, redactText(error.message), cause === undefined ? undefined : { cause })
  ) as Error & Record<string, unknown>;
  copy.name = error.name;
  copy.stack = redactText(error.stack ?? "");
  for (const key of ["code", "errno", "syscall", "status"] as const) {
    if (record[key] !== undefined) copy[key] = record[key];
  }
  for (const key of ["shortMessage", "details"] as const) {
    if (typeof record[key] === "string") copy[key] = redactText(record[key] as string);
  }
  return copy;
}

/**
 * A value (an error's context, an event) with every string in it passed through `redactText`; the same value when
 * nothing changes. Plain objects and arrays are copied as needed; `bigint`s, numbers and other values stay.
 *
 * @example
 * ```ts
 * import { redactStrings } from "@tollgate/shared";
 * redactStrings({ url: "https://api.example.com/r?key=1", amount: 1n }); // { url: "https://api.example.com/r?[redacted]", amount: 1n }
 * ```
 */
export function redactStrings<T>(value: T, depth = 0): T {
  if (typeof value === "string") return redactText(value) as T;
  if (depth > 8 || typeof value !== "object" || value === null) return value;
  if (Array.isArray(value)) {
    const mapped = value.map((v) => redactStrings(v, depth + 1));
    return (mapped.some((v, i) => v !== value[i]) ? mapped : value) as T;
  }
  if (Object.getPrototypeOf(value) !== Object.prototype) return value;
  let copy: Record<string, unknown> | undefined;
  for (const [key, v] of Object.entries(value)) {
    const r = redactStrings(v, depth + 1);
    if (r !== v) {
      copy ??= { ...(value as Record<string, unknown>) };
      copy[key] = r;
    }
  }
  return (copy ?? value) as T;
}
