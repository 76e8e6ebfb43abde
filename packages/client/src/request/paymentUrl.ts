import type { BufferedRequest } from "./bufferRequest.js";

/** The URL a 402 answered for, where its proof goes: the response's after a redirect, else the request's. */
export function paymentUrl(request: BufferedRequest, response: Response): string {
  return response.redirected && response.url !== "" ? response.url : request.url;
}
