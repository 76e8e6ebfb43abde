import { quoteUntrusted, redactText } from "@tollgate/shared";
import type { Send } from "../paymentContext.js";
import { type BufferedRequest, requestInit } from "./bufferRequest.js";
import { dropCrossOriginCredentials } from "./credentialHeaders.js";

/** Parameters of `followAfterPayment`. */
export type FollowAfterPaymentParameters = Readonly<{
  send: Send;
  /** The request as the caller made it (its `redirect` mode decides what happens). */
  request: BufferedRequest;
  /** The answer to the proof, sent with `redirect: "manual"`. */
  response: Response;
}>;

/**
 * Follows a redirect after a paid response as `fetch` would, without any payment header, and never pays again.
 * @throws `TypeError` when the caller asked for `redirect: "error"`, as `fetch` does
 */
export async function followAfterPayment(parameters: FollowAfterPaymentParameters): Promise<Response> {
  const { send, request, response } = parameters;
  const mode = request.rest.redirect ?? "follow";
  if (mode === "manual" || response.status < 300 || response.status >= 400 || response.status === 304) {
    return response;
  }
  const location = response.headers.get("location");
  if (location === null) return response;
  if (mode === "error") {
    throw new TypeError(
      `redirect to ${quoteUntrusted(redactText(location), 200)} refused (redirect: "error")`,
    );
  }
  const target = new URL(location, request.url).toString();
  const keepsBody = response.status === 307 || response.status === 308;
  const init = requestInit(request);
  const headers = new Headers(init.headers);
  dropCrossOriginCredentials({ headers, from: request.url, to: target });
  if (!keepsBody) {
    headers.delete("content-type");
    headers.delete("content-length");
  }
  return send(target, {
    ...init,
    headers,
    method: keepsBody || request.method === "HEAD" ? request.method : "GET",
    ...(keepsBody ? {} : { body: null }),
    redirect: "follow",
  });
}
