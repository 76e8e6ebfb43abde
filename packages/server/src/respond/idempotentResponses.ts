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

/** One key, the proof of the request that sent it, and that request. */
export type IdempotentRequest = Readonly<{
  /** The store key, from `readIdempotencyKey`. */
  key: string;
  /** SHA-256 (hex) of the request's payment proof. */
  proofHash: string;
  /** The request's random id: the owner of the key while it runs. */
  owner: string;
}>;

/** Parameters of `createIdempotentResponses`. */
export type CreateIdempotentResponsesParameters = Readonly<{
  store: Store;
  /** The clock, in milliseconds. */
  now: () => number;
  /** Reports a failed store call after the run (the response is served all the same). */
  emit: (event: PaywallEvent) => void;
  /** Largest body kept, in bytes; larger responses are served but not kept. */
  maxBodyBytes: number;
  /** How long a finished run's response (or the note that it was not kept) is kept, in seconds. */
  ttlSeconds: number;
  /** How long a key stays reserved for a run that never finishes (its process died), in seconds. */
  inFlightSeconds: number;
}>;

/**
 * Why a request with an `Idempotency-Key` is refused (409): the key was used with another proof, or its run was
 * charged and its response too large to keep.
 */
export type IdempotencyRefusal = "idempotency_key_conflict" | "idempotency_response_not_kept";

/**
 * What `begin` decided: run the request (the key is now its own), replay a kept response, wait (the first request
 * with the key and this proof still runs: retry later), or refuse.
 */
export type IdempotencyStart =
  | Readonly<{ kind: "run" }>
  | Readonly<{ kind: "replay"; response: Response }>
  | Readonly<{ kind: "wait" }>
  | Readonly<{ kind: "refuse"; reason: IdempotencyRefusal }>;

/**
 * One run per `Idempotency-Key` (DESIGN §4): the key is reserved before the lane charges anything, so a retry
 * gets the kept response, or waits while the first request runs, or 409 when that run was charged but its
 * response was too large to keep; a run that charged nothing gives the key back.
 */
export type IdempotentResponses = Readonly<{
  /** Reserves `key` for this request, or says what a retry gets instead. */
  begin(request: IdempotentRequest): Promise<IdempotencyStart>;
  /**
   * Finishes a charged run: keeps `response` under `key` when its body fits (else notes that it was not kept), and
   * returns what the client gets (the same response). The kept copy leaves out the prepaid token's secret
   * (`X-PAYMENT-TOKEN`): a token lives in the store only as its SHA-256, so a replayed response carries the
   * token's balance and expiry headers but not the token.
   */
  remember(parameters: IdempotentRequest & Readonly<{ response: Response }>): Promise<Response>;
  /** Gives the key back after a run that charged nothing (refused, not charged, failed): a retry runs anew. */
  release(request: IdempotentRequest): Promise<void>;
}>;

/** Creates the idempotent-response keeping of a paywall over its store. */
export function createIdempotentResponses(
  parameters: CreateIdempotentResponsesParameters,
): IdempotentResponses {
  const { store, now, emit, maxBodyBytes, ttlSeconds, inFlightSeconds } = parameters;
  const nowSeconds = () => Math.floor(now() / 1000);
  const finish = async (
    request: IdempotentRequest,
    record: Parameters<Store["finishResponse"]>[0]["record"],
  ): Promise<void> => {
    try {
      await store.finishResponse({
        key: request.key,
        owner: request.owner,
        record,
        expiresAt: nowSeconds() + ttlSeconds,
      });
    } catch (error) {
      emit({ type: "error", where: "store.finishResponse", error });
    }
  };
  return Object.freeze({
    async begin({ key, proofHash, owner }: IdempotentRequest): Promise<IdempotencyStart> {
      const result = await store.reserveResponse({
        key,
        owner,
        proofHash,
        expiresAt: nowSeconds() + inFlightSeconds,
      });
      if (result.reserved) return { kind: "run" };
      const { existing } = result;
      const heldBy = existing.state === "kept" ? existing.response.proofHash : existing.proofHash;
      if (heldBy !== proofHash) return { kind: "refuse", reason: "idempotency_key_conflict" };
      if (existing.state === "in_flight") return { kind: "wait" };
      if (existing.state === "not_kept") return { kind: "refuse", reason: "idempotency_response_not_kept" };
      const stored = existing.response;
      const headers = new Headers(stored.headers as [string, string][]);
      headers.set("idempotent-replayed", "true");
      return {
        kind: "replay",
        response: new Response(stored.body.slice(), { status: stored.status, headers }),
      };
    },
    async remember(parameters: IdempotentRequest & Readonly<{ response: Response }>): Promise<Response> {
      const { response, proofHash } = parameters;
      const read = await bufferUpTo({ body: response.body, limit: maxBodyBytes });
      const init = { status: response.status, statusText: response.statusText, headers: response.headers };
      if (!read.complete) {
        await finish(parameters, { state: "not_kept", proofHash });
        return new Response(read.stream, init);
      }
      const stored: StoredResponse = {
        proofHash,
        status: response.status,
        headers: keptHeaders(response.headers),
        body: read.body,
      };
      await finish(parameters, { state: "kept", response: stored });
      return new Response(read.body, init);
    },
    async release({ key, owner }: IdempotentRequest): Promise<void> {
      try {
        await store.releaseResponse({ key, owner });
      } catch (error) {
        emit({ type: "error", where: "store.releaseResponse", error });
      }
    },
  });
}

const tokenSecretHeader = tokenHeaderNames.token.toLowerCase();

/** The headers of a kept response: all of them but the prepaid token's secret. */
function keptHeaders(headers: Headers): [string, string][] {
  return [...headers.entries()].filter(([name]) => name !== tokenSecretHeader);
}
