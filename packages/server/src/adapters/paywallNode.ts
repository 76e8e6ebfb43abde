import type { IncomingMessage, OutgoingHttpHeaders, ServerResponse } from "node:http";
import type { Decision, Paywall } from "../paywall.js";
import { sendWebResponse } from "./node.js";
import { assertOrigin, requestHead } from "./requestHead.js";

type Captured = Readonly<{
  /**
   * Resolves with the handler's whole response once it ends it; a 500 `internal_error` when its status changed
   * after output was committed (a failure after a partial write: nothing of it is kept).
   */
  response: Promise<Response>;
  /** Restores `res` and writes `final` to it. */
  send(final: Response): Promise<void>;
  /** Restores `res` without writing (the handler failed). */
  restore(): void;
  /** Keeps `res` captured for good and drops whatever the handler still writes (its client has gone). */
  discard(): void;
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

const failedHandler = () =>
  new Response('{"error":"internal_error"}', {
    status: 500,
    headers: { "content-type": "application/json", "cache-control": "no-store" },
  });

/**
 * Holds back what a node:http handler writes (status, headers, body; `writeHead`, `write`, `end`, `flushHeaders`,
 * `writeEarlyHints`, and so `pipe` and `stream.pipeline` into `res`) until it ends, so the paywall can settle first
 * and either release it with the receipt or replace it with a 402. Like the reference middleware, the handler's
 * response is buffered. On a socket, the first write commits the status; here a status that changes after that
 * (Express's error handler after a partial `res.write`) marks a failed handler: everything it wrote is dropped.
 * Not covered: a handler that writes to the raw socket (`res.socket.write`) bypasses every HTTP middleware.
 */
export function captureResponse(res: ServerResponse): Captured {
  const original = {
    writeHead: res.writeHead,
    write: res.write,
    end: res.end,
    flushHeaders: res.flushHeaders,
    writeEarlyHints: res.writeEarlyHints,
  };
  let chunks: Buffer[] = [];
  let discarding = false;
  let ended = false;
  /** The status when output was first committed (the first `writeHead`, `flushHeaders` or body byte). */
  let committed: number | undefined;
  const commit = () => {
    committed ??= res.statusCode;
  };
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
    commit();
    return res;
  } as ServerResponse["writeHead"];
  res.flushHeaders = () => {
    commit();
  };
  res.writeEarlyHints = ((_hints: unknown, callback?: unknown) => {
    // Early hints would reach the client before the payment settles: dropped.
    if (typeof callback === "function") queueMicrotask(() => (callback as () => void)());
  }) as ServerResponse["writeEarlyHints"];
  res.write = ((chunk: unknown, encoding?: unknown, callback?: unknown) => {
    const buffer = toBuffer(chunk, encoding);
    if (!discarding && !ended) {
      if (buffer.length > 0) commit();
      chunks.push(buffer);
    }
    const cb = typeof encoding === "function" ? encoding : callback;
    if (typeof cb === "function") queueMicrotask(() => (cb as () => void)());
    return true;
  }) as ServerResponse["write"];
  res.end = ((chunk?: unknown, encoding?: unknown, callback?: unknown) => {
    const cb = [chunk, encoding, callback].find((c) => typeof c === "function");
    if (typeof cb === "function") queueMicrotask(() => (cb as () => void)());
    if (discarding || ended) return res;
    ended = true;
    if (typeof chunk !== "function") chunks.push(toBuffer(chunk, encoding));
    const status = res.statusCode;
    if (committed !== undefined && committed !== status) {
      // A failure after output was committed: on a socket the partial body would already be out; here none of
      // it, nor the headers set on the way, reaches the client.
      chunks = [];
      resolve(failedHandler());
      return res;
    }
    const headers = new Headers();
    for (const [name, value] of Object.entries(res.getHeaders())) {
      if (value === undefined) continue;
      if (Array.isArray(value)) for (const v of value) headers.append(name, v);
      else headers.set(name, String(value));
    }
    const nullBody = status === 204 || status === 304 || (status >= 100 && status < 200);
    resolve(
      new Response(nullBody ? null : Buffer.concat(chunks), {
        status,
        statusText: res.statusMessage ?? "",
        headers,
      }),
    );
    chunks = [];
    return res;
  }) as ServerResponse["end"];

  const restore = () => {
    Object.assign(res, original);
    for (const name of res.getHeaderNames()) res.removeHeader(name);
  };
  return {
    response,
    restore,
    discard() {
      discarding = true;
      chunks = [];
    },
    async send(final: Response): Promise<void> {
      restore();
      await sendWebResponse(res, final);
    },
  };
}

/**
 * An `AbortSignal` that aborts when the client of `res` has gone: the connection closed before the response
 * finished (a client that closed its socket or reset it, or `res.destroy()`).
 *
 * @example
 * ```ts
 * const gone = clientGoneSignal(res);
 * const head = requestHead({ req });
 * if (head.ok) await paywall.handle(new Request(head.request, { signal: gone }), { target: head.target });
 * ```
 */
export function clientGoneSignal(res: ServerResponse): AbortSignal {
  const controller = new AbortController();
  if (res.destroyed && !res.writableFinished) controller.abort();
  else {
    res.once("close", () => {
      if (!res.writableFinished) controller.abort();
    });
  }
  return controller.signal;
}

/** The request `paywall.handle` gets: `head` with a signal that aborts when the client of `res` has gone. */
export function withClientGoneSignal(head: Request, res: ServerResponse): Request {
  return new Request(head, { signal: clientGoneSignal(res) });
}

/**
 * Runs a node:http-style handler under a paywall decision: `pass` calls it untouched, `respond` answers without
 * it, `serve` captures its response, settles, then sends what `settle` returns. A client that leaves before the
 * response is sent is not waited for: `settle` gets a 499 (settlement `after`: nothing is settled, the claim is
 * released, a debit refunded) and whatever the handler still writes is dropped.
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
  const gone = clientGoneSignal(res);
  const clientGone = new Promise<"gone">((resolve) => {
    if (gone.aborted) resolve("gone");
    else gone.addEventListener("abort", () => resolve("gone"), { once: true });
  });
  const captured = captureResponse(res);
  // The handler runs without being awaited before its response: a listener may wait for its own response to
  // finish (`stream.pipeline(source, res, done)`), which only happens once the paywall has sent it.
  let failure: { error: unknown } | undefined;
  const ran = (async () => next())().then(
    () => undefined,
    (error: unknown) => {
      failure = { error };
    },
  );
  const ended = ran.then<Response | "failed">(() => (failure === undefined ? captured.response : "failed"));
  const outcome: Response | "gone" | "failed" = await Promise.race([captured.response, clientGone, ended]);
  // A handler that threw in the same turn as it ended is a failure too.
  await new Promise((resolve) => setImmediate(resolve));
  if (failure !== undefined) {
    // The handler failed: nothing is charged; the error goes on to the framework.
    await paywall.settle(decision, failedHandler());
    captured.restore();
    throw failure.error;
  }
  if ((outcome === "gone" || gone.aborted) && decision.settlement === "before" && outcome !== "failed") {
    // Paid before the handler ran: its response is still finished (and kept for an `Idempotency-Key` retry).
    const late = outcome instanceof Response ? outcome : await Promise.race([captured.response, ended]);
    captured.discard();
    await paywall.settle(
      decision,
      late instanceof Response && failure === undefined ? late : failedHandler(),
    );
    return;
  }
  if (outcome === "gone" || outcome === "failed" || gone.aborted) {
    captured.discard();
    await paywall.settle(decision, new Response('{"error":"client_closed_request"}', { status: 499 }));
    return;
  }
  const final = await paywall.settle(decision, outcome);
  if (gone.aborted) {
    // The client left while the payment settled: there is nobody to send to.
    captured.discard();
    return;
  }
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
      const decision = await paywall.handle(withClientGoneSignal(head.request, res), {
        target: head.target,
      });
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
