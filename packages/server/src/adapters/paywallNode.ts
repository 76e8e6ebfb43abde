import type { IncomingMessage, OutgoingHttpHeaders, ServerResponse } from "node:http";
import type { Decision, Paywall } from "../paywall.js";
import { sendWebResponse } from "./node.js";
import { assertOrigin, requestHead } from "./requestHead.js";

type Captured = Readonly<{
  /** Resolves with the handler's whole response once it ends it. */
  response: Promise<Response>;
  /** Restores `res` and writes `final` to it. */
  send(final: Response): Promise<void>;
  /** Restores `res` without writing (the handler failed). */
  restore(): void;
}>;

function applyHeaders(res: ServerResponse, headers: unknown): void {
  if (Array.isArray(headers)) {
    for (let i = 0; i + 1 < headers.length; i += 2) res.setHeader(String(headers[i]), String(headers[i + 1]));
  } else if (typeof headers === "object" && headers !== null) {
    for (const [name, value] of Object.entries(headers as OutgoingHttpHeaders)) {
      if (value !== undefined) res.setHeader(name, value);
    }
  }
}

function toBuffer(chunk: unknown, encoding: unknown): Buffer {
  if (chunk === undefined || chunk === null || typeof chunk === "function") return Buffer.alloc(0);
  if (typeof chunk === "string")
    return Buffer.from(chunk, typeof encoding === "string" ? (encoding as BufferEncoding) : "utf8");
  return Buffer.from(chunk as Uint8Array);
}

/**
 * Holds back what a node:http handler writes (status, headers, body) until it ends, so the paywall can settle
 * first and either release it with the receipt or replace it with a 402. Like the reference middleware, the
 * handler's response is buffered.
 */
export function captureResponse(res: ServerResponse): Captured {
  const original = {
    writeHead: res.writeHead,
    write: res.write,
    end: res.end,
    flushHeaders: res.flushHeaders,
  };
  const chunks: Buffer[] = [];
  let resolve: (response: Response) => void = () => undefined;
  const response = new Promise<Response>((r) => {
    resolve = r;
  });

  res.writeHead = function writeHead(this: ServerResponse, status: number, ...rest: unknown[]) {
    res.statusCode = status;
    const [first, second] = rest;
    if (typeof first === "string") {
      res.statusMessage = first;
      applyHeaders(res, second);
    } else {
      applyHeaders(res, first);
    }
    return res;
  } as ServerResponse["writeHead"];
  res.flushHeaders = () => undefined;
  res.write = ((chunk: unknown, encoding?: unknown, callback?: unknown) => {
    chunks.push(toBuffer(chunk, encoding));
    const cb = typeof encoding === "function" ? encoding : callback;
    if (typeof cb === "function") queueMicrotask(() => (cb as () => void)());
    return true;
  }) as ServerResponse["write"];
  res.end = ((chunk?: unknown, encoding?: unknown, callback?: unknown) => {
    if (typeof chunk !== "function") chunks.push(toBuffer(chunk, encoding));
    const cb = [chunk, encoding, callback].find((c) => typeof c === "function");
    const headers = new Headers();
    for (const [name, value] of Object.entries(res.getHeaders())) {
      if (value === undefined) continue;
      if (Array.isArray(value)) for (const v of value) headers.append(name, v);
      else headers.set(name, String(value));
    }
    const status = res.statusCode;
    const nullBody = status === 204 || status === 304 || (status >= 100 && status < 200);
    resolve(
      new Response(nullBody ? null : Buffer.concat(chunks), {
        status,
        statusText: res.statusMessage ?? "",
        headers,
      }),
    );
    if (typeof cb === "function") queueMicrotask(() => (cb as () => void)());
    return res;
  }) as ServerResponse["end"];

  const restore = () => {
    Object.assign(res, original);
    for (const name of res.getHeaderNames()) res.removeHeader(name);
  };
  return {
    response,
    restore,
    async send(final: Response): Promise<void> {
      restore();
      await sendWebResponse(res, final);
    },
  };
}

/**
 * Runs a node:http-style handler under a paywall decision: `pass` calls it untouched, `respond` answers without
 * it, `serve` captures its response, settles, then sends what `settle` returns.
 */
export async function runWithPaywall(
  parameters: Readonly<{
    paywall: Paywall;
    res: ServerResponse;
    decision: Decision;
    /** Calls the handler; it answers through `res`. */
    next: () => void | Promise<void>;
  }>,
): Promise<void> {
  const { paywall, res, decision, next } = parameters;
  if (decision.action === "pass") {
    await next();
    return;
  }
  if (decision.action === "respond") {
    await sendWebResponse(res, decision.response);
    return;
  }
  const captured = captureResponse(res);
  try {
    await next();
  } catch (error) {
    // The handler failed before answering: nothing is charged; the error goes on to the framework.
    await paywall.settle(decision, new Response(null, { status: 500 }));
    captured.restore();
    throw error;
  }
  const final = await paywall.settle(decision, await captured.response);
  await captured.send(final);
}

/** Parameters of `paywallListener`. */
export type PaywallListenerParameters = Readonly<{
  paywall: Paywall;
  /** The node:http request listener to protect. */
  listener: (req: IncomingMessage, res: ServerResponse) => void | Promise<void>;
  /**
   * `scheme://host` of the public URL, when the server sits behind a proxy.
   * @default `http://` + the request's Host header
   */
  origin?: string;
}>;

/**
 * Protects a node:http request listener with a paywall: unpriced requests reach it untouched; priced ones get
 * a 402 until paid; a paid request's response is held until the payment settles. Never leaks the handler's
 * response when settlement fails. The raw target (`req.url`) is priced in every form a listener may route on
 * (`//paid`, `/\paid`, absolute-form); a request whose Host or target cannot be read is refused 400
 * (`invalid_host`, `invalid_request_target`) before the listener runs.
 *
 * The listener must route on the method as well as the path, or price its paths without a method: a request to
 * a priced path with a method no route prices is refused 405 (`unpricedMethods`), unless the paywall lets it
 * pass.
 *
 * @example
 * ```ts
 * import { createServer } from "node:http";
 * import { createPaywall, paywallListener } from "@tollgate/server";
 * const paywall = createPaywall({ routes: { "GET /paid": "$0.01" }, … });
 * const listener = (req, res) => {
 *   const { pathname } = new URL(req.url ?? "/", "http://localhost");
 *   if (req.method === "GET" && pathname === "/paid") return res.end("paid content");
 *   res.statusCode = 404;
 *   res.end();
 * };
 * createServer(paywallListener({ paywall, listener })).listen(3000);
 * ```
 * @throws `SERVER__INVALID_CONFIG` when `origin` is not `http(s)://host[:port]`.
 */
export function paywallListener(
  parameters: PaywallListenerParameters,
): (req: IncomingMessage, res: ServerResponse) => void {
  const { paywall, listener, origin } = parameters;
  assertOrigin("paywallListener.origin", origin);
  return (req, res) => {
    void (async () => {
      const head = requestHead({ req, ...(origin === undefined ? {} : { origin }) });
      if (!head.ok) {
        await sendWebResponse(res, head.response);
        return;
      }
      const decision = await paywall.handle(head.request, { target: head.target });
      await runWithPaywall({ paywall, res, decision, next: () => listener(req, res) });
    })().catch(() => {
      if (!res.headersSent) {
        res.writeHead(500, { "content-type": "application/json" });
        res.end('{"error":"internal_error"}');
      } else {
        res.destroy();
      }
    });
  };
}
