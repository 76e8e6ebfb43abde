import { TollgateError, x402HeaderNames } from "@tollgate/shared";
import type { LedgerEntry } from "../ledger/ledger.js";
import type { Send } from "../paymentContext.js";
import { aborted } from "./aborted.js";
import { type BufferedRequest, requestInit } from "./bufferRequest.js";
import { dropCrossOriginCredentials } from "./credentialHeaders.js";

/** Parameters of `sendProof`. */
export type SendProofParameters = Readonly<{
  send: Send;
  request: BufferedRequest;
  /** The recorded proof: sent to its `url` with its headers and `Idempotency-Key`. */
  entry: LedgerEntry;
}>;

/** Connection errors raised before a byte of the request was written: the proof never reached the server. */
const neverSentCodes = new Set(["ECONNREFUSED", "ENOTFOUND", "EAI_AGAIN", "EHOSTUNREACH", "ENETUNREACH"]);

/** Whether a `fetch` failure certainly happened before the request left (undici puts the cause's `code` on it). */
export function neverSent(error: unknown): boolean {
  const cause = (error as { cause?: unknown } | undefined)?.cause;
  const causes = cause instanceof AggregateError ? cause.errors : [cause];
  return (
    causes.length > 0 &&
    causes.every((c) => neverSentCodes.has(String((c as { code?: unknown } | undefined)?.code)))
  );
}

/**
 * Sends the request again with a recorded proof, never following a redirect (a proof is never forwarded to wherever
 * the server redirects). A failed send is returned as the error to throw: `CLIENT__ABORTED`, or
 * `CLIENT__SETTLEMENT_PENDING` since the proof may have arrived (the entry stays pending, the next call re-sends it);
 * `notSent` when the connection failed before the request left (refused, unknown host).
 */
export async function sendProof(
  parameters: SendProofParameters,
): Promise<{ response: Response } | { error: TollgateError; notSent?: true }> {
  const { send, request, entry } = parameters;
  const headers: Record<string, string> = {
    ...entry.moreHeaders,
    [entry.proof.name]: entry.proof.value,
    [x402HeaderNames.idempotencyKey]: entry.idempotencyKey,
  };
  try {
    // Manual redirects: a proof is never forwarded to wherever the server redirects.
    const init = requestInit(request, headers);
    // A 402 met after a redirect is paid where it was met, without what fetch did not carry across origins.
    if (entry.url !== request.url) {
      dropCrossOriginCredentials({ headers: init.headers as Headers, from: request.url, to: entry.url });
    }
    const response = await send(entry.url, { ...init, redirect: "manual" });
    return { response };
  } catch (cause) {
    // The proof may have arrived: the entry stays pending and the next call re-sends this very proof.
    const abort = aborted(request, "paid_request");
    if (abort) return { error: new TollgateError("CLIENT__ABORTED", { context: abort.context, cause }) };
    return {
      error: new TollgateError("CLIENT__SETTLEMENT_PENDING", {
        context: { url: request.url, retryAfterSeconds: 1 },
        cause,
      }),
      ...(neverSent(cause) ? { notSent: true } : {}),
    };
  }
}
