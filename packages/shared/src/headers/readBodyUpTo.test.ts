import { describe, expect, it } from "vitest";
import { isTollgateError } from "../errors/TollgateError.js";
import { readBodyUpTo } from "./readBodyUpTo.js";

function dripping(): ReadableStream<Uint8Array> {
  let timer: ReturnType<typeof setInterval> | undefined;
  return new ReadableStream({
    start(controller) {
      timer = setInterval(() => controller.enqueue(new Uint8Array([32])), 20);
    },
    cancel() {
      clearInterval(timer);
    },
  });
}

describe("readBodyUpTo", () => {
  it("throws WIRE__READ_TIMEOUT once the whole read passes timeoutMs, however steadily bytes arrive", async () => {
    const error = await readBodyUpTo({
      body: dripping(),
      limit: 1 << 20,
      timeoutMs: 150,
      what: "402 body",
    }).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(isTollgateError(error, "WIRE__READ_TIMEOUT")).toBe(true);
    expect((error as { context: unknown }).context).toEqual({ what: "402 body", timeoutMs: 150 });
  });

  it("returns undefined past the size limit and the bytes within it", async () => {
    expect(await readBodyUpTo({ body: new Response("x".repeat(11)).body, limit: 10 })).toBeUndefined();
    expect(await readBodyUpTo({ body: new Response("abc").body, limit: 10, timeoutMs: 1000 })).toEqual(
      new TextEncoder().encode("abc"),
    );
  });
});
