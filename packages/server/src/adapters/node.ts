import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { type ReadRequestReturnType, readNodeRequest } from "./requestHead.js";

/**
 * Turns a node:http request into a Web `Request` whose body streams (nothing is buffered here), or the 400 that
 * refuses a request whose Host or target cannot be read (see `requestHead`). `origin` sets the scheme and host
 * when the server sits behind a proxy.
 *
 * @example
 * ```ts
 * import { toWebRequest } from "@tollgate/server";
 * const read = toWebRequest(req);
 * const response = read.ok ? await app(read.request) : read.response;
 * ```
 */
export function toWebRequest(req: IncomingMessage, origin?: string): ReadRequestReturnType {
  return readNodeRequest({ req, origin, body: true });
}

function drainedOrClosed(res: ServerResponse): Promise<void> {
  return new Promise<void>((resolve) => {
    const done = () => {
      res.off("drain", done);
      res.off("close", done);
      resolve();
    };
    res.on("drain", done);
    res.on("close", done);
  });
}

/** Writes a Web `Response` to a node:http response, streaming its body; stops when the client has gone. */
export async function sendWebResponse(res: ServerResponse, response: Response): Promise<void> {
  const headers: Record<string, string | string[]> = {};
  response.headers.forEach((value, name) => {
    if (name === "set-cookie") return;
    headers[name] = value;
  });
  const cookies = response.headers.getSetCookie();
  if (cookies.length > 0) headers["set-cookie"] = cookies;
  res.writeHead(response.status, response.statusText, headers);
  if (!response.body) {
    res.end();
    return;
  }
  for await (const chunk of response.body as unknown as AsyncIterable<Uint8Array>) {
    // A client that left never drains: stop (leaving the loop cancels the body).
    if (res.destroyed) return;
    if (!res.write(chunk)) await drainedOrClosed(res);
  }
  res.end();
}

/** What `serveFetch` knows of a request's client besides the request: the socket's remote address. */
export type FetchClient = Readonly<{ address?: string }>;

/** Parameters of `serveFetch`. */
export type ServeFetchParameters = Readonly<{
  /** The Web handler to serve; it also gets the client's address (e.g. for the admin API's lockouts). */
  fetch: (request: Request, client: FetchClient) => Promise<Response> | Response;
  /**
   * TCP port; 0 picks a free one.
   * @default 0
   */
  port?: number;
  /**
   * Interface to listen on.
   * @default "127.0.0.1"
   */
  host?: string;
}>;

/** A running node:http server of a Web handler. */
export type ServedFetch = Readonly<{
  /** `http://host:port`, without a trailing slash. */
  url: string;
  port: number;
  server: Server;
  /** Stops accepting connections and closes idle ones; resolves when closed. Idempotent. */
  close(): Promise<void>;
}>;

/**
 * Serves a Web `Request → Response` handler (a facilitator's or a paywalled app's `fetch`) on node:http.
 * A handler that throws answers a bare 500 without details (the handler itself should never throw); a request
 * whose Host or target cannot be read is answered 400 without calling it (see `toWebRequest`).
 *
 * @example
 * ```ts
 * import { serveFetch } from "@tollgate/server";
 * const served = await serveFetch({ fetch: facilitator.fetch, port: 4021 });
 * console.log(served.url);
 * ```
 */
export async function serveFetch(parameters: ServeFetchParameters): Promise<ServedFetch> {
  const { fetch, port = 0, host = "127.0.0.1" } = parameters;
  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    void (async () => {
      try {
        const read = toWebRequest(req);
        if (!read.ok) {
          await sendWebResponse(res, read.response);
          return;
        }
        // The request's signal aborts when the client leaves, so a paywalled handler settles nothing for it.
        const gone = new AbortController();
        res.once("close", () => {
          if (!res.writableFinished) gone.abort();
        });
        const client: FetchClient =
          req.socket.remoteAddress === undefined ? {} : { address: req.socket.remoteAddress };
        await sendWebResponse(res, await fetch(new Request(read.request, { signal: gone.signal }), client));
      } catch {
        if (!res.headersSent) res.writeHead(500, { "content-type": "application/json" });
        res.end(res.headersSent ? undefined : '{"error":"internal_error"}');
      }
    })();
  });
  server.keepAliveTimeout = 5_000;
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(port, host, () => {
      server.off("error", reject);
      resolve();
    });
  });
  const address = server.address() as AddressInfo;
  const hostInUrl = address.family === "IPv6" ? `[${address.address}]` : address.address;
  let closing: Promise<void> | undefined;
  return Object.freeze({
    url: `http://${hostInUrl}:${address.port}`,
    port: address.port,
    server,
    close(): Promise<void> {
      closing ??= new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeIdleConnections();
      });
      return closing;
    },
  });
}
