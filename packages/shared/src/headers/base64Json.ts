import type { z } from "zod";
import type { WireIssue } from "../errors/codes.js";
import { TollgateError } from "../errors/TollgateError.js";

/** Size limits of x402 headers, in characters of the header value. */
export const headerLimits = Object.freeze({
  /** The encoder refuses to produce a header above this (what proxies reliably pass). */
  encodeMax: 8 * 1024,
  /** The decoder refuses a header above this (Node's default header limit). */
  decodeMax: 16 * 1024,
});

const base64Pattern = /^[A-Za-z0-9+/]*={0,2}$/;
const base64UrlChars = /[-_]/;
const utf8 = new TextDecoder("utf-8", { fatal: true });

/** Escapes every non-ASCII character of a JSON text as `\uXXXX`, so peers using bare `btoa`/`atob` read it. */
function asciiJson(value: unknown): string {
  const text = JSON.stringify(value, (_key, v: unknown) => (typeof v === "bigint" ? v.toString() : v));
  // Stryker disable next-line ConditionalExpression,StringLiteral: equivalent, the caller turns any throw here (the
  // `.replace` of undefined included) into WIRE__ENCODE_FAILED with reason "not JSON".
  if (text === undefined) throw new Error("value is not JSON-serialisable");
  return text.replace(/[\u007f-\uffff]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, "0")}`);
}

/** Parameters of `encodeHeaderJson`. */
export type EncodeHeaderJsonParameters = Readonly<{
  /** The header the value is for, named in errors. */
  header: string;
  /** The value; `bigint`s are written as decimal strings. */
  value: unknown;
}>;

/**
 * Encodes a value as an x402 header: padded standard base64 of ASCII-only JSON (non-ASCII escaped as
 * `\uXXXX`), at most 8 KiB.
 *
 * @example
 * ```ts
 * import { encodeHeaderJson } from "@tollgate/shared";
 * encodeHeaderJson({ header: "PAYMENT-RESPONSE", value: { success: true, transaction: "0x…", network: "eip155:8453" } });
 * ```
 * @throws `WIRE__ENCODE_FAILED`
 */
export function encodeHeaderJson(parameters: EncodeHeaderJsonParameters): string {
  const { header, value } = parameters;
  let encoded: string;
  try {
    encoded = btoa(asciiJson(value));
  } catch (cause) {
    throw new TollgateError("WIRE__ENCODE_FAILED", { context: { what: header, reason: "not JSON" }, cause });
  }
  if (encoded.length > headerLimits.encodeMax) {
    throw new TollgateError("WIRE__ENCODE_FAILED", {
      context: { what: header, reason: `${encoded.length} characters, over ${headerLimits.encodeMax}` },
    });
  }
  return encoded;
}

/**
 * Decodes an x402 header value to JSON: standard base64 (padding optional), never base64url, at most
 * 16 KiB, UTF-8, valid JSON. Returns the JSON value unchecked; use `decodeHeader` to validate it.
 *
 * @example
 * ```ts
 * import { decodeHeaderJson } from "@tollgate/shared";
 * decodeHeaderJson({ header: "X-PAYMENT", value: "eyJ4NDAyVmVyc2lvbiI6MX0=" }); // { x402Version: 1 }
 * ```
 * @throws `WIRE__MALFORMED_HEADER`, `WIRE__TOO_LARGE`
 */
export function decodeHeaderJson(parameters: Readonly<{ header: string; value: string }>): unknown {
  const { header, value } = parameters;
  if (typeof value !== "string" || value.trim() === "") {
    throw new TollgateError("WIRE__MALFORMED_HEADER", { context: { header, reason: "empty" } });
  }
  if (value.length > headerLimits.decodeMax) {
    throw new TollgateError("WIRE__TOO_LARGE", {
      context: { what: header, size: value.length, limit: headerLimits.decodeMax },
    });
  }
  const text = value.trim();
  // Stryker disable next-line ConditionalExpression: equivalent, `atob` refuses a 4n + 1 length too (reason "base64").
  if (!base64Pattern.test(text) || text.length % 4 === 1) {
    const reason = base64UrlChars.test(text) ? "base64url" : "base64";
    throw new TollgateError("WIRE__MALFORMED_HEADER", { context: { header, reason } });
  }
  let json: string;
  try {
    const binary = atob(text);
    const bytes = new Uint8Array(binary.length);
    // Stryker disable next-line EqualityOperator: equivalent, a typed array ignores a write past its end.
    for (let i = 0; i < binary.length; i++) bytes[i] = binary.charCodeAt(i);
    json = utf8.decode(bytes);
  } catch (cause) {
    throw new TollgateError("WIRE__MALFORMED_HEADER", { context: { header, reason: "base64" }, cause });
  }
  try {
    return JSON.parse(json) as unknown;
  } catch (cause) {
    throw new TollgateError("WIRE__MALFORMED_HEADER", { context: { header, reason: "json" }, cause });
  }
}

/** Turns zod issues into Tollgate's `WireIssue`s (path and message, nothing else). */
export function toWireIssues(error: z.ZodError): WireIssue[] {
  return error.issues.slice(0, 20).map((issue) => ({
    path: issue.path.map((p) => String(p)).join("."),
    message: issue.message,
  }));
}

/**
 * Validates a decoded value against a wire schema.
 *
 * @example
 * ```ts
 * import { parseWire, paymentPayloadV1Schema } from "@tollgate/shared";
 * const payload = parseWire({ what: "X-PAYMENT", schema: paymentPayloadV1Schema, value: json });
 * ```
 * @throws `WIRE__SCHEMA_MISMATCH`
 */
export function parseWire<S extends z.ZodType>(
  parameters: Readonly<{ what: string; schema: S; value: unknown }>,
): z.infer<S> {
  const { what, schema, value } = parameters;
  const result = schema.safeParse(value);
  if (!result.success) {
    throw new TollgateError("WIRE__SCHEMA_MISMATCH", {
      context: { what, issues: toWireIssues(result.error) },
    });
  }
  return result.data;
}

/**
 * Decodes and validates an x402 header in one step.
 *
 * @example
 * ```ts
 * import { decodeHeader, paymentRequiredV2Schema } from "@tollgate/shared";
 * const required = decodeHeader({ header: "PAYMENT-REQUIRED", value, schema: paymentRequiredV2Schema });
 * ```
 * @throws `WIRE__MALFORMED_HEADER`, `WIRE__TOO_LARGE`, `WIRE__SCHEMA_MISMATCH`
 */
export function decodeHeader<S extends z.ZodType>(
  parameters: Readonly<{ header: string; value: string; schema: S }>,
): z.infer<S> {
  const { header, value, schema } = parameters;
  return parseWire({ what: header, schema, value: decodeHeaderJson({ header, value }) });
}
