import {
  type SettleResponse,
  type SupportedResponse,
  settleResponseSchema,
  supportedResponseSchema,
  TollgateError,
  type VerifyResponse,
  verifyResponseSchema,
} from "@tollgate/shared";
import { defaultMaxBodyBytes, type FacilitatorTransport, type TransportResult } from "./transport.js";

/** A remote facilitator the paywall may call, in the order given. */
export type FacilitatorOption = Readonly<{
  /** Base URL; `/verify`, `/settle` and `/supported` are appended. */
  url: string;
  /**
   * Name in events and in the 402's `provider`.
   * @default the URL's host
   */
  name?: string;
  /**
   * Switch: a disabled facilitator is never called (the seed's "no PayAI" rollback).
   * @default true
   */
  enabled?: boolean;
  /**
   * Deadline of one `/verify`, in milliseconds.
   * @default 5_000
   */
  verifyTimeoutMs?: number;
  /**
   * Deadline of one `/settle`, in milliseconds.
   * @default 30_000
   */
  settleTimeoutMs?: number;
  /**
   * The longest `/verify` or `/settle` answer read, in bytes. A longer one is not read further and counts as a
   * malformed answer: this facilitator is unavailable for that call (the next one is asked; after a `/settle`, the
   * money may have moved, so the paywall asks the chain or answers `settlement_pending`).
   * @default 65_536
   */
  maxResponseBytes?: number;
  /**
   * The longest `/supported` answer read, in bytes; a longer one is ignored like an unreachable `/supported`.
   * @default 262_144
   */
  maxSupportedBytes?: number;
  /**
   * Extra request headers per call (authentication), e.g. `payaiFacilitator`'s JWT. A throw makes this
   * facilitator unavailable for that call.
   * @default none
   */
  headers?: (
    endpoint: FacilitatorEndpointName,
  ) => Readonly<Record<string, string>> | Promise<Readonly<Record<string, string>>>;
  /**
   * How to reach this facilitator.
   * @default the paywall's `transport`
   */
  transport?: FacilitatorTransport;
}>;

/** An in-process facilitator (`createFacilitator` of `@tollgate/server/facilitator`), the last resort. */
export type InProcessFacilitator = Readonly<{
  verify(body: unknown): Promise<Readonly<{ status: number; body: unknown }>>;
  settle(body: unknown): Promise<Readonly<{ status: number; body: unknown }>>;
  supported?(): SupportedResponse;
}>;

/** The facilitator endpoints the paywall calls. */
export type FacilitatorEndpointName = "verify" | "settle" | "supported";

/** Why a facilitator did not answer. */
export type UnavailableReason = "timeout" | "connect" | "network" | "status" | "malformed" | "error";

/** The outcome of one call: a definitive answer, or unavailable (then the next facilitator is asked). */
export type CallOutcome<T> =
  | Readonly<{ kind: "answer"; answer: T; status: number }>
  | Readonly<{ kind: "unavailable"; reason: UnavailableReason; status?: number; mayHaveArrived: boolean }>;

/** One facilitator, ready to call. */
export type FacilitatorEndpoint = Readonly<{
  name: string;
  verify(body: unknown): Promise<CallOutcome<VerifyResponse>>;
  settle(body: unknown): Promise<CallOutcome<SettleResponse>>;
  supported(): Promise<SupportedResponse | undefined>;
}>;

/** Statuses that mean "this facilitator cannot answer now" when the body is not an answer. */
const unavailableStatuses = new Set([401, 403, 404, 408, 429]);
const snakeReason = /^[a-z0-9_]{1,64}$/;

function parseAnswer<T>(endpoint: "verify" | "settle", json: unknown): T | undefined {
  if (typeof json !== "object" || json === null || Array.isArray(json)) return undefined;
  if (endpoint === "verify") {
    const parsed = verifyResponseSchema.safeParse(json);
    return parsed.success ? (parsed.data as T) : undefined;
  }
  // Some facilitators leave out `transaction` or `network` in a refusal; the answer is still definitive.
  const parsed = settleResponseSchema.safeParse({ transaction: "", network: "", ...json });
  return parsed.success ? (parsed.data as T) : undefined;
}

/**
 * Classifies a facilitator's HTTP answer (DESIGN §4): a redirect (3xx) or a status below 200 is never an
 * answer, whatever its body: "unavailable" (malformed) and it may have arrived, since a facilitator may redirect
 * after it settled. Otherwise a body that parses as a verify/settle answer is definitive at any status;
 * 401/403/404/408/429, 5xx, a 2xx without an answer, or a body that is not JSON mean "unavailable"; any other 4xx
 * with a JSON body is a definitive refusal of our request.
 */
export function interpretAnswer<T extends VerifyResponse | SettleResponse>(
  endpoint: "verify" | "settle",
  status: number,
  json: unknown,
): CallOutcome<T> {
  if (status < 200 || (status >= 300 && status < 400)) {
    return { kind: "unavailable", reason: "malformed", status, mayHaveArrived: true };
  }
  const answer = parseAnswer<T>(endpoint, json);
  if (answer !== undefined) return { kind: "answer", answer, status };
  const isObject = typeof json === "object" && json !== null;
  if (!isObject) return { kind: "unavailable", reason: "malformed", status, mayHaveArrived: true };
  if (unavailableStatuses.has(status) || status >= 500) {
    return { kind: "unavailable", reason: "status", status, mayHaveArrived: status >= 500 || status === 408 };
  }
  if (status < 300) return { kind: "unavailable", reason: "malformed", status, mayHaveArrived: true };
  const error = (json as { error?: unknown }).error;
  const reason = typeof error === "string" && snakeReason.test(error) ? error : "invalid_request";
  const refusal =
    endpoint === "verify"
      ? { isValid: false, invalidReason: reason }
      : { success: false, errorReason: reason, transaction: "", network: "" };
  return { kind: "answer", answer: refusal as T, status };
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return undefined;
  }
}

/** Parameters of `remoteFacilitator`. */
export type RemoteFacilitatorParameters = Readonly<{
  option: FacilitatorOption;
  transport: FacilitatorTransport;
}>;

/**
 * A remote facilitator over a transport, with a deadline per call and the classification of `interpretAnswer`.
 * @throws `SERVER__INVALID_CONFIG` when the URL is not http(s).
 */
export function remoteFacilitator(parameters: RemoteFacilitatorParameters): FacilitatorEndpoint {
  const { option } = parameters;
  const {
    verifyTimeoutMs = 5_000,
    settleTimeoutMs = 30_000,
    maxResponseBytes = defaultMaxBodyBytes,
    maxSupportedBytes = 262_144,
    headers,
  } = option;
  for (const [name, value] of [
    ["maxResponseBytes", maxResponseBytes],
    ["maxSupportedBytes", maxSupportedBytes],
  ] as const) {
    if (!Number.isSafeInteger(value) || value <= 0) {
      throw new TollgateError("SERVER__INVALID_CONFIG", {
        context: { option: `facilitators[].${name}`, reason: "must be a positive integer" },
      });
    }
  }
  const transport = option.transport ?? parameters.transport;
  let base: URL;
  try {
    base = new URL(option.url);
  } catch (cause) {
    throw new TollgateError("SERVER__INVALID_CONFIG", {
      context: { option: "facilitators[].url", reason: "not a URL" },
      cause,
    });
  }
  if (base.protocol !== "http:" && base.protocol !== "https:") {
    throw new TollgateError("SERVER__INVALID_CONFIG", {
      context: { option: "facilitators[].url", reason: "must be http or https" },
    });
  }
  const root = base.href.replace(/\/+$/, "");
  const name = option.name ?? base.host;

  async function headersFor(endpoint: FacilitatorEndpointName): Promise<Record<string, string> | undefined> {
    try {
      return { ...(await headers?.(endpoint)) };
    } catch {
      return undefined; // Cannot authenticate now: this facilitator is unavailable for this call.
    }
  }

  /**
   * The answer's text when it is within `limit` bytes. A transport that ignores `maxBodyBytes` (a custom one) is
   * held to the same bound here, so the outcome does not depend on the transport.
   */
  function withinBound(result: TransportResult, limit: number): result is TransportResult & { ok: true } {
    return result.ok && (result.text.length <= limit / 3 || Buffer.byteLength(result.text, "utf8") <= limit);
  }

  async function post<T extends VerifyResponse | SettleResponse>(
    endpoint: "verify" | "settle",
    body: unknown,
  ): Promise<CallOutcome<T>> {
    const extra = await headersFor(endpoint);
    if (extra === undefined) return { kind: "unavailable", reason: "error", mayHaveArrived: false };
    const result = await transport({
      url: `${root}/${endpoint}`,
      method: "POST",
      headers: { "content-type": "application/json", accept: "application/json", ...extra },
      body: JSON.stringify(body),
      timeoutMs: endpoint === "verify" ? verifyTimeoutMs : settleTimeoutMs,
      maxBodyBytes: maxResponseBytes,
    });
    if (!result.ok && result.failure !== "too_large") {
      return { kind: "unavailable", reason: result.failure, mayHaveArrived: result.mayHaveArrived };
    }
    if (!result.ok || !withinBound(result, maxResponseBytes)) {
      // Too large to be an answer: malformed, and it arrived (a /settle may have moved money).
      return { kind: "unavailable", reason: "malformed", status: result.status, mayHaveArrived: true };
    }
    const json = parseJson(result.text);
    return interpretAnswer<T>(endpoint, result.status, json);
  }

  return Object.freeze({
    name,
    verify: (body: unknown) => post<VerifyResponse>("verify", body),
    settle: (body: unknown) => post<SettleResponse>("settle", body),
    async supported(): Promise<SupportedResponse | undefined> {
      const extra = await headersFor("supported");
      if (extra === undefined) return undefined;
      const result = await transport({
        url: `${root}/supported`,
        method: "GET",
        headers: { accept: "application/json", ...extra },
        timeoutMs: verifyTimeoutMs,
        maxBodyBytes: maxSupportedBytes,
      });
      if (!withinBound(result, maxSupportedBytes) || result.status !== 200) return undefined;
      const parsed = supportedResponseSchema.safeParse(parseJson(result.text));
      return parsed.success ? parsed.data : undefined;
    },
  });
}

/** Parameters of `inProcessFacilitator`. */
export type InProcessFacilitatorParameters = Readonly<{
  facilitator: InProcessFacilitator;
  /** @default "self" */
  name?: string;
  /**
   * Deadline of one verify, in milliseconds.
   * @default 10_000
   */
  verifyTimeoutMs?: number;
  /**
   * Deadline of one settle, in milliseconds.
   * @default 60_000
   */
  settleTimeoutMs?: number;
}>;

/** Our own facilitator in process, called as a function, with the same deadlines and classification. */
export function inProcessFacilitator(parameters: InProcessFacilitatorParameters): FacilitatorEndpoint {
  const { facilitator, name = "self", verifyTimeoutMs = 10_000, settleTimeoutMs = 60_000 } = parameters;

  async function call<T extends VerifyResponse | SettleResponse>(
    endpoint: "verify" | "settle",
    body: unknown,
  ): Promise<CallOutcome<T>> {
    let timer: ReturnType<typeof setTimeout> | undefined;
    const timeout = new Promise<"timeout">((resolve) => {
      timer = setTimeout(() => resolve("timeout"), endpoint === "verify" ? verifyTimeoutMs : settleTimeoutMs);
    });
    try {
      const answer = await Promise.race([facilitator[endpoint](body), timeout]);
      if (answer === "timeout") return { kind: "unavailable", reason: "timeout", mayHaveArrived: true };
      return interpretAnswer<T>(endpoint, answer.status, answer.body);
    } catch {
      return { kind: "unavailable", reason: "error", mayHaveArrived: true };
    } finally {
      clearTimeout(timer);
    }
  }

  return Object.freeze({
    name,
    verify: (body: unknown) => call<VerifyResponse>("verify", body),
    settle: (body: unknown) => call<SettleResponse>("settle", body),
    supported: async () => facilitator.supported?.(),
  });
}
