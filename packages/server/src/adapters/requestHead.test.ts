import { isTollgateError } from "@tollgate/shared";
import express from "express";
import { afterAll, describe, expect, it } from "vitest";
import { errorOf, sendRaw } from "../../test/rawHttp.js";
import { createPaywall } from "../paywall.js";
import { paywallMiddleware } from "./express.js";
import { type ServedFetch, serveFetch } from "./node.js";
import { paywallListener } from "./paywallNode.js";

const opened: ServedFetch[] = [];
afterAll(async () => {
  await Promise.all(opened.map((s) => s.close()));
});

async function echoServer(): Promise<{ served: ServedFetch; calls: string[] }> {
  const calls: string[] = [];
  const served = await serveFetch({
    fetch: (request) => {
      calls.push(request.url);
      return Response.json({ url: request.url });
    },
  });
  opened.push(served);
  return { served, calls };
}

describe("serveFetch: the request line and Host", () => {
  it.each(["a:99999", "x:abc", "[", "a b", "%", ""])(
    "answers Host %j with 400 invalid_host, not 500, without calling the handler",
    async (host) => {
      const { served, calls } = await echoServer();
      const answer = await sendRaw({ port: served.port, target: "/paid", headers: [["host", host]] });
      expect({ status: answer.status, error: errorOf(answer) }).toEqual({
        status: 400,
        error: "invalid_host",
      });
      expect(calls).toEqual([]);
    },
  );

  it("keeps the origin of Host: //other.example/paid is a path of this server, not another origin", async () => {
    const { served, calls } = await echoServer();
    const answer = await sendRaw({
      port: served.port,
      target: "//other.example/paid?q=1",
      headers: [["host", "api.test:8080"]],
    });
    expect(answer.status).toBe(200);
    expect(calls).toEqual(["http://api.test:8080//other.example/paid?q=1"]);
    // An absolute-form target keeps its path and query; the origin is still Host's.
    await sendRaw({ port: served.port, target: "http://other.example/x", headers: [["host", "api.test"]] });
    expect(calls.at(-1)).toBe("http://api.test/x");
  });
});

describe("a configured origin", () => {
  it.each(["ftp://api.test", "http://api.test/base", "api.test", "http://a:99999"])(
    "%s fails at start with SERVER__INVALID_CONFIG",
    (origin) => {
      const paywall = createPaywall({ routes: { "GET /paid": "$0.01" } });
      const options = (make: () => unknown) => {
        try {
          make();
        } catch (error) {
          return isTollgateError(error, "SERVER__INVALID_CONFIG") ? error.context.option : "other";
        }
        return "accepted";
      };
      expect(options(() => paywallListener({ paywall, listener: () => undefined, origin }))).toBe(
        "paywallListener.origin",
      );
      expect(options(() => express().use(paywallMiddleware({ paywall, origin })))).toBe(
        "paywallMiddleware.origin",
      );
    },
  );
});
