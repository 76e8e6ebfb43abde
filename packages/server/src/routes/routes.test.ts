import { isTollgateError } from "@tollgate/shared";
import { describe, expect, it } from "vitest";
import { createPaywall } from "../paywall.js";
import { compileRoutes, matchRoute, requestMethods } from "./compileRoutes.js";
import { pathForms } from "./normalisePath.js";

const routes = compileRoutes([
  ["GET /v1/search", "search"],
  ["POST /v1/items/:id", "item"],
  ["GET /files/*", "files"],
  ["/any/*/meta", "any"],
]);

function match(method: string, path: string, headers: Record<string, string> = {}) {
  const h = new Headers(headers);
  const matched = matchRoute(routes, { methods: requestMethods(method, h), pathname: path });
  if (matched.kind === "ambiguous") throw new Error(`ambiguous: ${matched.patterns.join(", ")}`);
  return matched.kind === "match" ? matched.match : undefined;
}

describe("pathForms", () => {
  it.each([
    ["/v1/search", ["/v1/search"]],
    ["/v1//search/", ["/v1/search"]],
    ["//v1///search//", ["/v1/search"]],
    ["/v1/./x/../search", ["/v1/search", "/v1/./x/../search"]],
    ["/v1/%73earch", ["/v1/%73earch", "/v1/search"]],
    ["/v1%2Fsearch", ["/v1%2Fsearch", "/v1/search"]],
    ["/v1/x/%2e%2e/search", ["/v1/x/%2e%2e/search", "/v1/search", "/v1/x/../search"]],
    ["/v1%252Fsearch", ["/v1%252Fsearch", "/v1%2Fsearch", "/v1/search"]],
    ["/v1\\search", ["/v1/search", "/v1\\search"]],
    ["/../../etc", ["/etc", "/../../etc"]],
    ["/%zz/%", ["/%zz/%"]],
  ])("%s → %j", (pathname, forms) => {
    expect([...pathForms({ pathname })].sort()).toEqual([...forms].sort());
  });

  it("adds the forms of the raw request target, which the URL parser may have resolved away", () => {
    const forms = pathForms({ pathname: "/7", target: "/files/%2e%2e/7?x=1#y" });
    expect(forms).toContain("/7");
    expect(forms).toContain("/files/%2e%2e/7");
    expect(forms).toContain("/files/../7");
    expect(pathForms({ pathname: "/paid", target: "http://other.example/PAID/?q" })).toContain("/PAID");
  });

  it("reads a raw target as a listener's new URL(req.url, base) does, and a backslash as a literal too", () => {
    // new URL("//a/paid", base) names host "a" and leaves "/paid"; so does "/\\a/paid".
    expect(pathForms({ pathname: "//a/paid", target: "//a/paid" })).toEqual(
      expect.arrayContaining(["/a/paid", "/paid"]),
    );
    expect(pathForms({ pathname: "//a/paid", target: "/\\a/paid" })).toContain("/paid");
    // Express's req.path and a listener splitting req.url keep "a\\b" as one segment.
    expect(pathForms({ pathname: "/files/a/b", target: "/files/a\\b" })).toEqual(
      expect.arrayContaining(["/files/a/b", "/files/a\\b"]),
    );
    expect(pathForms({ pathname: "/files/a%5Cb" })).toContain("/files/a\\b");
  });

  it("reads every other target the app routes on (a rewrite before the paywall)", () => {
    expect(pathForms({ pathname: "/v2/paid", target: "/v2/paid", otherTargets: ["/paid"] })).toEqual(
      expect.arrayContaining(["/v2/paid", "/paid"]),
    );
  });
});

describe("matchRoute", () => {
  it("matches literal, parameter and wildcard segments, case-insensitively", () => {
    expect(match("GET", "/v1/search")?.value).toBe("search");
    expect(match("GET", "/V1/SEARCH/")?.value).toBe("search");
    expect(match("POST", "/v1/items/AbC")).toMatchObject({ value: "item", params: { id: "AbC" } });
    expect(match("GET", "/files/a/b/c")).toMatchObject({ value: "files", params: { "*": "a/b/c" } });
    expect(match("GET", "/files")).toMatchObject({ value: "files", params: { "*": "" } });
    expect(match("PUT", "/any/x/meta")?.value).toBe("any");
    expect(match("GET", "/any/x/y/meta")).toBeUndefined();
  });

  it("does not let encoding, dots, slashes or case bypass a price", () => {
    for (const path of [
      "/v1/%73earch",
      "/v1%2fsearch",
      "/v1/x/%2e%2e/search",
      "/v1%252Fsearch",
      "//V1//Search//",
    ]) {
      expect(match("GET", path)?.value, path).toBe("search");
    }
  });

  it("routes HEAD as GET, honours method-override headers, and prices every method of method-less routes", () => {
    expect(match("HEAD", "/v1/search")?.value).toBe("search");
    expect(match("GET", "/v1/items/1")).toBeUndefined();
    expect(match("GET", "/v1/items/1", { "x-http-method-override": "POST" })?.value).toBe("item");
    expect(match("OPTIONS", "/any/x/meta")?.value).toBe("any");
    expect(match("POST", "/v1/search")).toBeUndefined();
  });

  it("refuses malformed patterns", () => {
    for (const pattern of ["GET v1", "G3T /x", "GET /a/../b", "GET /a/:"]) {
      let error: unknown;
      try {
        compileRoutes([[pattern, 1]]);
      } catch (e) {
        error = e;
      }
      expect(isTollgateError(error, "SERVER__INVALID_CONFIG"), pattern).toBe(true);
    }
  });

  it("reports the routes when readings of one request reach different ones", () => {
    const priced = compileRoutes([
      ["GET /v1/report", "cheap"],
      ["POST /v1/report", "dear"],
      ["GET /files/*", "files"],
      ["GET /reports/*", "reports"],
      ["GET /v1/items/special", "special"],
      ["GET /v1/items/*", "items"],
    ]);
    const read = (method: string, pathname: string, headers: Record<string, string> = {}, target?: string) =>
      matchRoute(priced, {
        methods: requestMethods(method, new Headers(headers)),
        pathname,
        ...(target === undefined ? {} : { target }),
      });
    // A method-override header (POST read as GET) and a raw target (/reports/../files/x read as /files/x).
    expect(read("POST", "/v1/report", { "x-http-method-override": "GET" })).toEqual({
      kind: "ambiguous",
      patterns: ["POST /v1/report", "GET /v1/report"],
    });
    expect(read("GET", "/files/x", {}, "/reports/../files/x")).toMatchObject({
      kind: "ambiguous",
      patterns: expect.arrayContaining(["GET /files/*", "GET /reports/*"]),
    });
    // One reading, several routes: the first in order wins, as before; HEAD on a GET-only route is GET.
    expect(read("GET", "/v1/items/special")).toMatchObject({ kind: "match", match: { value: "special" } });
    expect(read("HEAD", "/v1/report")).toMatchObject({ kind: "match", match: { value: "cheap" } });
    expect(read("GET", "/files/x", {}, "/files/./x")).toMatchObject({
      kind: "match",
      match: { value: "files" },
    });
    expect(read("GET", "/free")).toEqual({ kind: "none" });
  });
});

describe("a priced path asked with a method no route prices", () => {
  const methods = ["POST", "PUT", "PATCH", "DELETE", "OPTIONS"];

  it.each(methods)("%s is refused 405 method_not_allowed with Allow, by default", async (method) => {
    const paywall = createPaywall({ routes: { "GET /v1/report": "$0.02", "POST /v1/items/:id": "$0.01" } });
    // A handler that routes on the path alone, as the reference API did.
    const app = paywall.fetch(() => Response.json({ content: "the paid report" }));
    const response = await app(new Request("http://api.test/v1/report", { method }));
    expect({ status: response.status, allow: response.headers.get("allow") }).toEqual({
      status: 405,
      allow: "GET, HEAD",
    });
    expect(await response.json()).toEqual({ error: "method_not_allowed" });
    // Any path form counts: the encoded path is the same priced path.
    expect((await app(new Request("http://api.test/v1/%72eport/", { method }))).status).toBe(405);
  });

  it('is passed to the app with unpricedMethods: "pass"; a free path and a method-less route are unaffected', async () => {
    const paywall = createPaywall({
      routes: { "GET /v1/report": "$0.02", "/v1/any": "$0.01" },
      unpricedMethods: "pass",
    });
    const app = paywall.fetch((request) => Response.json({ method: request.method }));
    expect((await app(new Request("http://api.test/v1/report", { method: "DELETE" }))).status).toBe(200);
    const strict = createPaywall({ routes: { "GET /v1/report": "$0.02", "/v1/any": "$0.01" } }).fetch(() =>
      Response.json({ free: true }),
    );
    expect((await strict(new Request("http://api.test/free", { method: "POST" }))).status).toBe(200);
    expect((await strict(new Request("http://api.test/v1/any", { method: "DELETE" }))).status).toBe(402);
    expect((await strict(new Request("http://api.test/v1/any", { method: "OPTIONS" }))).status).toBe(402);
  });

  it("is refused 405 too when a catch-all after the method route would price it cheaper", async () => {
    const routes = { "GET /v1/report": "$5", "/v1/*": "$0.01" };
    const app = createPaywall({ routes }).fetch(() => Response.json({ content: "the $5 report" }));
    const post = await app(new Request("http://api.test/v1/report", { method: "POST" }));
    expect({ status: post.status, allow: post.headers.get("allow") }).toEqual({
      status: 405,
      allow: "GET, HEAD",
    });
    // Other paths under the catch-all are its to price; with "pass" the catch-all prices the POST.
    expect((await app(new Request("http://api.test/v1/other", { method: "POST" }))).status).toBe(402);
    const passing = createPaywall({ routes, unpricedMethods: "pass" }).fetch(() => Response.json({}));
    const priced = await passing(new Request("http://api.test/v1/report", { method: "POST" }));
    expect({
      status: priced.status,
      amount: ((await priced.json()) as { amount_usdc: string }).amount_usdc,
    }).toEqual({ status: 402, amount: "0.01" });
  });

  it("refuses a malformed unpricedMethods at start", () => {
    let code: string | undefined;
    try {
      createPaywall({ routes: {}, unpricedMethods: "allow" as "pass" });
    } catch (error) {
      code = isTollgateError(error, "SERVER__INVALID_CONFIG") ? error.context.option : undefined;
    }
    expect(code).toBe("unpricedMethods");
  });

  it("matchRoute reports the priced methods of the path", () => {
    const priced = compileRoutes([
      ["GET /v1/report", "cheap"],
      ["POST /v1/report", "dear"],
    ]);
    expect(matchRoute(priced, { methods: ["PUT"], pathname: "/v1/report" })).toEqual({
      kind: "unpriced_method",
      patterns: ["GET /v1/report", "POST /v1/report"],
      allow: ["GET", "HEAD", "POST"],
    });
  });
});

describe("method override through the `_method` query parameter", () => {
  it("prices POST /v1/report?_method=PUT as the PUT route, or refuses it as ambiguous, never as the cheap POST", async () => {
    const paywall = createPaywall({ routes: { "POST /v1/report": "$0.01", "PUT /v1/report": "$1" } });
    const app = paywall.fetch((request) => Response.json({ method: request.method }));
    const { token } = await paywall.issueToken({ amount: "$0.01" });
    const response = await app(
      new Request("http://api.test/v1/report?_method=PUT", {
        method: "POST",
        headers: { "x-payment-token": token },
      }),
    );
    expect(response.status).toBe(400);
    expect(await response.json()).toEqual({ error: "ambiguous_route" });
  });

  it("prices POST /v1/report?_method=put when only PUT is priced", async () => {
    const paywall = createPaywall({ routes: { "PUT /v1/report": "$1" } });
    const app = paywall.fetch(() => Response.json({ content: "the $1 report" }));
    expect((await app(new Request("http://api.test/v1/report?_method=put", { method: "POST" }))).status).toBe(
      402,
    );
  });
});
