// Review r1 of the unpriced-method rule (issue 21, item 4's class): a request has several readings (its method,
// method overrides, path forms). When one reading reaches a priced path under a method no route prices, a handler
// that routes on the path alone serves that path's content; another reading matching a cheaper route must not
// make the paywall charge the cheaper price for it.
import { describe, expect, it } from "vitest";
import { createPaywall } from "../../src/paywall.js";
import {
  type CompiledPattern,
  compileRoutes,
  matchRoute,
  requestMethods,
} from "../../src/routes/compileRoutes.js";

/** A handler that routes on the path alone (the premise of the 405 rule): `/report` is the $5 report. */
function pathOnlyApp(routes: Record<string, string>) {
  const paywall = createPaywall({ routes });
  return {
    paywall,
    app: paywall.fetch((request) => {
      const path = decodeURIComponent(new URL(request.url).pathname).replace(/\/[^/]+\/\.\.\//g, "/");
      return Response.json({ content: path.endsWith("/report") ? "the $5 report" : "cheap" });
    }),
  };
}

async function paidWithCheapToken(
  app: (r: Request) => Promise<Response>,
  token: string,
  init: RequestInit & { url: string },
) {
  const response = await app(
    new Request(init.url, { ...init, headers: { ...(init.headers as object), "x-payment-token": token } }),
  );
  return { status: response.status, body: await response.text() };
}

describe("a reading with an unpriced method, next to a reading that matches a cheaper route", () => {
  it("POST /report with X-HTTP-Method-Override: PUT is not served the GET route's content at the POST price", async () => {
    const { paywall, app } = pathOnlyApp({ "GET /report": "$5", "POST /report": "$0.01" });
    const { token } = await paywall.issueToken({ amount: "$0.01" });
    const result = await paidWithCheapToken(app, token, {
      url: "http://api.test/report",
      method: "POST",
      headers: { "x-http-method-override": "PUT" },
    });
    expect(result.body).not.toContain("$5 report");
    expect(result.status).toBe(405);
  });

  it("POST /cheap/..%2freport (a path form of /report, whose only route is GET) is not priced as the cheap catch-all", async () => {
    const { paywall, app } = pathOnlyApp({ "GET /report": "$5", "/cheap/*": "$0.01" });
    const { token } = await paywall.issueToken({ amount: "$0.01" });
    const result = await paidWithCheapToken(app, token, {
      url: "http://api.test/cheap/..%2freport",
      method: "POST",
    });
    expect(result.body).not.toContain("$5 report");
    expect(result.status).toBe(405);
  });

  it("keeps the readings that are one route: HEAD of a GET route beside a POST route, an override to the only priced method", () => {
    const routes = compileRoutes([
      ["GET /report", "dear"],
      ["POST /report", "cheap"],
      ["PUT /only", "put"],
    ]);
    expect(matchRoute(routes, { methods: ["HEAD", "GET"], pathname: "/report" })).toEqual({
      kind: "match",
      match: { pattern: "GET /report", value: "dear", params: {} },
    });
    expect(matchRoute(routes, { methods: ["POST", "PUT"], pathname: "/only" })).toEqual({
      kind: "match",
      match: { pattern: "PUT /only", value: "put", params: {} },
    });
    expect(matchRoute(routes, { methods: ["POST"], pathname: "/report" })).toMatchObject({
      kind: "match",
      match: { value: "cheap" },
    });
  });
});

describe("a request read as thousands of methods (one 15 kB method-override header)", () => {
  const overrides = Array.from({ length: 4_800 }, (_, i) => `${i.toString(36)}X`).join(",");
  const longPath = `/v1/r1/${"a%2e%2E%5c%2f%252e/".repeat(60)}paid`;

  it("costs a bounded number of route passes, not methods x path forms x routes", () => {
    const entries: [string, string][] = Array.from({ length: 20 }, (_, i) => [
      `GET /v1/r${i}/:id/*`,
      `r${i}`,
    ]);
    const compiled = compileRoutes([...entries, ["GET /paid", "paid"]]);
    let reads = 0;
    const counted = new Proxy(compiled as CompiledPattern<string>[], {
      get(target, key, receiver) {
        if (typeof key === "string" && /^\d+$/.test(key)) reads++;
        return Reflect.get(target, key, receiver);
      },
    });
    const methods = requestMethods("POST", new Headers({ "x-http-method-override": overrides }));
    expect(methods.length).toBeGreaterThan(4_000);
    const matched = matchRoute(counted, { methods, pathname: longPath, target: longPath });
    expect(reads).toBeLessThan(20_000);
    expect(matched.kind).toBe("ambiguous");
  });

  it("is refused 400 ambiguous_route on a priced path, and passes on a free one", async () => {
    const app = createPaywall({ routes: { "GET /paid": "$0.01" } }).fetch(() =>
      Response.json({ served: true }),
    );
    const headers = { "x-http-method-override": overrides };
    const priced = await app(new Request("http://api.test/paid", { method: "POST", headers }));
    expect({ status: priced.status, body: await priced.json() }).toEqual({
      status: 400,
      body: { error: "ambiguous_route" },
    });
    const free = await app(new Request("http://api.test/free", { method: "POST", headers }));
    expect(free.status).toBe(200);
  });
});
