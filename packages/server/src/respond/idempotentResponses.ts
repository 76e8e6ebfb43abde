import { tokenHeaderNames } from "@tollgate/shared";
import { bufferUpTo } from "../internal/bufferUpTo.js";
import { sha256Hex } from "../internal/hash.js";
import type { Store, StoredResponse } from "../store/store.js";
import type { PaywallEvent } from "../verify/laneContext.js";

const idempotencyKeyPattern = /^[\x21-\x7e]{1,255}$/;

/** A request's `Idempotency-Key`: its store key (SHA-256, hex; `undefined` when not sent), or malformed. */
export type ReadIdempotencyKeyReturnType =
  | Readonly<{ ok: true; key: string | undefined }>
  | Readonly<{ ok: false; reason: "malformed_payment" }>;

/** Parameters of `readIdempotencyKey`. */
export type ReadIdempotencyKeyParameters = Readonly<{
  headers: Headers;
  /**
   * What the key is valid for: the request's method, target (path and query) and price. A key names one
   * request; the same key sent for another target or price is another key, so it neither replays that
   * request's response nor repeats its token debit for free.
   */
  scope: string;
}>;

/** Reads the `Idempotency-Key` header: 1 to 255 visible ASCII characters, kept only as a hash with its scope. */
export function readIdempotencyKey(parameters: ReadIdempotencyKeyParameters): ReadIdempotencyKeyReturnType {
  const { headers, scope } = parameters;
  const header = headers.get("idempotency-key");
  if (header === null) return { ok: true, key: undefined };
  if (!idempotencyKeyPattern.test(header)) return { ok: false, reason: "malformed_payment" };
  return { ok: true, key: sha256Hex(`idempotency:${scope}\n${header}`) };
}

/** One key and the proof of the request that sent it. */
export type IdempotentRequest = Readonly<{
  /** The store key, from `readIdempotencyKey`. */
  key: string;
  /** SHA-256 (hex) of the request's payment proof. */
  proofHash: string;
}>;

/** Parameters of `createIdempotentResponses`. */
export type CreateIdempotentResponsesParameters = Readonly<{
  store: Store;
  /** The clock, in milliseconds. */
  now: () => number;
  /** Reports a failed `putResponse` (the response is served all the same). */
  emit: (event: PaywallEvent) => void;
  /** Largest body kept, in bytes; larger responses are served but not kept. */
  maxBodyBytes: number;
  /** How long a response is kept, in seconds. */
  ttlSeconds: number;
}>;

/** Responses kept for `Idempotency-Key` retries: the look-up before a lane, the keeping after the handler. */
export type IdempotentResponses = Readonly<{
  /**
   * The kept response of `key`: `replay` (a copy marked `Idempotent-Replayed: true`) when the same proof paid
   * for it, `conflict` when another proof did, `undefined` when none is kept.
   */
  lookup(
    request: IdempotentRequest,
  ): Promise<Readonly<{ kind: "replay"; response: Response }> | Readonly<{ kind: "conflict" }> | undefined>;
  /**
   * Keeps `response` under `key` when its body fits, and returns what the client gets (the same response).
   * The kept copy leaves out the prepaid token's secret (`X-PAYMENT-TOKEN`): a token lives in the store only
   * as its SHA-256, so a replayed response carries the token's balance and expiry headers but not the token.
   */
  remember(parameters: IdempotentRequest & Readonly<{ response: Response }>): Promise<Response>;
}>;

/** Creates the idempotent-response keeping of a paywall over its store. */
export function createIdempotentResponses(
  parameters: CreateIdempotentResponsesParameters,
): IdempotentResponses {
  const { store, now, emit, maxBodyBytes, ttlSeconds } = parameters;
  return Object.freeze({
    async lookup({ key, proofHash }: IdempotentRequest) {
      const stored = await store.getResponse(key);
      if (stored === undefined) return undefined;
      if (stored.proofHash !== proofHash) return { kind: "conflict" as const };
      const headers = new Headers(stored.headers as [string, string][]);
      headers.set("idempotent-replayed", "true");
      const response = new Response(stored.body.slice(), { status: stored.status, headers });
      return { kind: "replay" as const, response };
    },
    async remember({ key, proofHash, response }: IdempotentRequest & Readonly<{ response: Response }>) {
      const read = await bufferUpTo({ body: response.body, limit: maxBodyBytes });
      const init = { status: response.status, statusText: response.statusText, headers: response.headers };
      if (!read.complete) return new Response(read.stream, init);
      const stored: StoredResponse = {
        proofHash,
        status: response.status,
        headers: keptHeaders(response.headers),
        body: read.body,
      };
      try {
        await store.putResponse({
          key,
          response: stored,
          expiresAt: Math.floor(now() / 1000) + ttlSeconds,
        });
      } catch (error) {
        emit({ type: "error", where: "store.putResponse", error });
      }
      return new Response(read.body, init);
    },
  });
}

const tokenSecretHeader = tokenHeaderNames.token.toLowerCase();

/** The headers of a kept response: all of them but the prepaid token's secret. */
function keptHeaders(headers: Headers): [string, string][] {
  return [...headers.entries()].filter(([name]) => name !== tokenSecretHeader);
}
