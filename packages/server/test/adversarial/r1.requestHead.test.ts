// Review r1 of the node:http request reading (issue 21, item 1's class): request targets and Host values that a
// listener could read as a priced path, sent raw over a socket to a real `paywallListener` whose listener routes on
// the path alone (after `new URL(req.url, base)`, which resolves `..`, drops `//host` and reads `\` as `/`).
// Invariant: the paid body is never served unpaid, nothing answers 500, nothing hangs.
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { paywallListener } from "../../src/adapters/paywallNode.js";
import { createPaywall } from "../../src/paywall.js";
import { sendRaw } from "../rawHttp.js";

const paidBody = "PAID-r1-91c2";
let server: Server;
let port: number;

beforeAll(async () => {
  const paywall = createPaywall({ routes: { "GET /paid": "$0.01", "/star/*": "$0.01" } });
  server = createServer(
    paywallListener({
      paywall,
      listener: (req, res) => {
        let path = "";
        try {
          path = new URL(req.url ?? "/", "http://base.invalid").pathname.toLowerCase();
        } catch {
          path = "";
        }
        const paid = path.replace(/\/+$/, "") === "/paid" || path.startsWith("/star");
        res.end(paid ? paidBody : "free");
      },
    }),
  );
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  port = (server.address() as AddressInfo).port;
});

afterAll(async () => {
  await new Promise<void>((resolve) => server.close(() => resolve()));
});

const cases: readonly (readonly [string, string, string, readonly (readonly [string, string])[]])[] = [
  ["absolute-form with userinfo", "GET", "http://user:pw@127.0.0.1/paid", [["host", "127.0.0.1"]]],
  ["absolute-form with an empty authority", "GET", "http:///paid", [["host", "127.0.0.1"]]],
  ["absolute-form with port 99999", "GET", "http://a:99999/paid", [["host", "127.0.0.1"]]],
  ["absolute-form upper-case scheme", "GET", "HTTP://127.0.0.1/paid", [["host", "127.0.0.1"]]],
  ["absolute-form with a backslash authority", "GET", "http://a\\paid", [["host", "127.0.0.1"]]],
  ["IPv6 Host", "GET", "/paid", [["host", "[::1]:8080"]]],
  ["IPv6 Host with a zone id", "GET", "/paid", [["host", "[fe80::1%25eth0]"]]],
  ["IPvFuture Host", "GET", "/paid", [["host", "[v1.x]"]]],
  ["Host with port 0", "GET", "/paid", [["host", "a:0"]]],
  ["Host with userinfo", "GET", "/paid", [["host", "u@a"]]],
  ["very long Host", "GET", "/paid", [["host", `${"a".repeat(8_000)}.test`]]],
  ["percent-encoded dots", "GET", "/x/%2e%2E/paid", [["host", "a"]]],
  ["encoded slash and dots", "GET", "/x/..%2fpaid", [["host", "a"]]],
  ["backslash", "GET", "/x\\..\\paid", [["host", "a"]]],
  ["double slash host form", "GET", "//evil/paid", [["host", "a"]]],
  ["OPTIONS *", "OPTIONS", "*", [["host", "a"]]],
  ["HEAD", "HEAD", "/paid", [["host", "a"]]],
  [
    "POST with override to GET",
    "POST",
    "/paid",
    [
      ["host", "a"],
      ["x-http-method-override", "GET"],
    ],
  ],
  ["DELETE (unpriced method of a priced path)", "DELETE", "/PAID/", [["host", "a"]]],
];

describe("raw request shapes on paywallListener", () => {
  it.each(cases)("%s: never the paid body unpaid, never 500", async (_name, method, target, headers) => {
    const answer = await sendRaw({ port, method, target, headers, timeoutMs: 5_000 });
    expect(answer.timedOut).toBe(false);
    expect(answer.status).toBeDefined();
    expect(answer.status).not.toBe(500);
    expect(answer.text).not.toContain(paidBody);
  });
});
