import { describe, expect, it } from "vitest";
import { redactError, redactStrings, redactText, redactUrl } from "./redact.js";
import { TollgateError } from "./TollgateError.js";
import { quoteUntrusted, sanitizeUntrusted } from "./untrustedText.js";

describe("redactUrl", () => {
  it("removes credentials, query, fragment and key-like path segments, keeping where", () => {
    expect(redactUrl("https://u:p@base-mainnet.g.alchemy.com/v2/AbCd1234efGH5678?x=1#f")).toBe(
      "https://[redacted]@base-mainnet.g.alchemy.com/v2/[redacted]?[redacted]#[redacted]",
    );
    expect(redactUrl("https://mainnet.infura.io/v3/0123456789abcdef0123456789abcdef")).toBe(
      "https://mainnet.infura.io/v3/[redacted]",
    );
    expect(redactUrl("https://api.example.com/v1/search")).toBe("https://api.example.com/v1/search");
    expect(redactUrl("http://127.0.0.1:8545")).toBe("http://127.0.0.1:8545");
  });

  it("redacts every URL in a text, leaving sentence punctuation and file locations", () => {
    expect(redactText("HTTP request failed.\n\nURL: https://rpc.example/?key=s3cr3t.")).toBe(
      "HTTP request failed.\n\nURL: https://rpc.example/?[redacted].",
    );
    expect(redactText("at f (file:///work/a0b1c2d3e4f5a6b7c8d9/x.ts:1:1)")).toBe(
      "at f (file:///work/a0b1c2d3e4f5a6b7c8d9/x.ts:1:1)",
    );
  });
});

describe("redactError", () => {
  it("keeps an error that mentions no secret as it is, and copies one that does, through its causes", () => {
    const plain = new TypeError("fetch failed", {
      cause: Object.assign(new Error("refused"), { code: "ECONNREFUSED" }),
    });
    expect(redactError(plain)).toBe(plain);
    const leaky = Object.assign(
      new Error("boom", { cause: new Error("URL: https://x.io/v2/KEYkey1234567890") }),
      {
        url: "https://x.io/v2/KEYkey1234567890",
        code: "E_RPC",
      },
    );
    const safe = redactError(leaky) as Error & { code?: string; url?: string; cause?: Error };
    expect(safe).not.toBe(leaky);
    expect(safe.code).toBe("E_RPC");
    expect(safe.url).toBeUndefined();
    expect(safe.cause?.message).toBe("URL: https://x.io/v2/[redacted]");
  });

  it("TollgateError redacts its context, message and cause", () => {
    const error = new TollgateError("CLIENT__ABORTED", {
      context: { url: "https://api.example.com/r?token=abc", stage: "sign" },
      cause: new Error("at https://rpc.example/v2/0123456789abcdefXYZ"),
    });
    expect(error.context.url).toBe("https://api.example.com/r?[redacted]");
    expect(error.message).not.toContain("token=abc");
    expect((error.cause as Error).message).toBe("at https://rpc.example/v2/[redacted]");
    expect(redactStrings({ n: 1n, list: ["https://a.b/?q=1"] })).toEqual({
      n: 1n,
      list: ["https://a.b/?[redacted]"],
    });
  });
});

describe("untrusted text", () => {
  it("escapes controls, ANSI escapes, bidi overrides and zero-width characters, and bounds the length", () => {
    expect(sanitizeUntrusted("a\nb\u001b[31mc\u202ed\u200b")).toBe("a\\u000ab\\u001b[31mc\\u202ed\\u200b");
    expect(sanitizeUntrusted("x".repeat(300)).length).toBe(257);
    expect(quoteUntrusted('say "hi"\r')).toBe('"say \\"hi\\"\\u000d"');
  });
});
