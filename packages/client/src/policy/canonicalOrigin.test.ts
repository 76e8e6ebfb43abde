import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { originMatches } from "./budgets.js";
import { canonicalOrigin, canonicalUrl } from "./canonicalOrigin.js";

describe("canonicalOrigin", () => {
  it("gives every spelling of one host one origin", () => {
    const spellings = [
      "http://127.0.0.1:8080/r",
      "http://LOCALHOST:8080/r",
      "http://localhost.:8080/r",
      "http://localhost..:8080/r",
      "http://[::ffff:127.0.0.1]:8080/r",
      "http://[::1]:8080/r",
      "http://0x7f.1:8080/r",
      "http://2130706433:8080/r",
      "http://0177.0.0.1:8080/r",
      "http://127.0.0.2:8080/r",
      "http://0.0.0.0:8080/r",
      "http://[::]:8080/r",
      "http://api.localhost:8080/r",
    ];
    expect(new Set(spellings.map(canonicalOrigin))).toEqual(new Set(["http://127.0.0.1:8080"]));
    expect(canonicalOrigin("https://API.Example.COM.:443/x")).toBe("https://api.example.com");
    expect(canonicalOrigin("http://example.com:80")).toBe("http://example.com");
    expect(canonicalOrigin("http://[::ffff:10.0.0.5]:81/")).toBe("http://10.0.0.5:81");
    expect(canonicalOrigin("http://[2001:DB8::1]/")).toBe("http://[2001:db8::1]");
    expect(canonicalOrigin("https://ｅｘａｍｐｌｅ.com/")).toBe("https://example.com");
    // Ports and schemes still tell origins apart.
    expect(canonicalOrigin("http://127.0.0.1:8081")).not.toBe(canonicalOrigin("http://127.0.0.1:8080"));
    expect(canonicalOrigin("https://example.com")).not.toBe(canonicalOrigin("http://example.com"));
    expect(canonicalOrigin("not a url")).toBeUndefined();
  });

  it("canonicalUrl keeps path and query, drops the fragment", () => {
    expect(canonicalUrl("http://LOCALHOST.:8080/a/b?q=1#frag")).toBe("http://127.0.0.1:8080/a/b?q=1");
  });
});

describe("originMatches", () => {
  it("matches every spelling of a listed host", () => {
    expect(originMatches("127.0.0.1", "http://[::ffff:7f00:1]:9000")).toBe(true);
    expect(originMatches("localhost", "http://127.0.0.1:9000")).toBe(true);
    expect(originMatches("api.example.com", "https://API.example.com.")).toBe(true);
    expect(originMatches("https://api.example.com", "https://api.example.com.:443")).toBe(true);
    expect(originMatches("10.0.0.5", "http://[::ffff:a00:5]")).toBe(true);
    expect(originMatches("*.example.com", "https://a.EXAMPLE.com.")).toBe(true);
    expect(originMatches("*.localhost", "http://[::1]:3000")).toBe(true);
  });

  it("a port in an entry must match; a wildcard never matches an IP address", () => {
    expect(originMatches("localhost:3000", "http://127.0.0.1:3000")).toBe(true);
    expect(originMatches("localhost:3000", "http://127.0.0.1:3001")).toBe(false);
    expect(originMatches("example.com:443", "https://example.com")).toBe(true);
    expect(originMatches("*.0.0.1", "http://127.0.0.1")).toBe(false);
    expect(originMatches("other.example", "https://api.example.com")).toBe(false);
  });
});

describe("canonicalOrigin: properties", () => {
  const octet = fc.integer({ min: 0, max: 255 });
  const ipv4 = fc.tuple(octet, octet, octet, octet);

  it("every spelling of an IPv4 address is one origin: dotted, integer, hex, IPv4-mapped IPv6", () => {
    fc.assert(
      fc.property(ipv4, fc.integer({ min: 1, max: 65_535 }), ([a, b, c, d], port) => {
        const dotted = `${a}.${b}.${c}.${d}`;
        const integer = String(((a << 24) >>> 0) + (b << 16) + (c << 8) + d);
        const hex = `0x${a.toString(16)}.0x${b.toString(16)}.0x${c.toString(16)}.0x${d.toString(16)}`;
        const mapped = `[::ffff:${dotted}]`;
        const origins = [dotted, integer, hex, mapped, `${dotted}.`].map((h) =>
          canonicalOrigin(`http://${h}:${port}/x`),
        );
        expect(new Set(origins).size).toBe(1);
      }),
    );
  });

  it("case and trailing dots of a host name never make a new origin; another name does", () => {
    const label = fc.stringMatching(/^[a-z][a-z0-9]{0,10}$/);
    fc.assert(
      fc.property(label, label, fc.integer({ min: 0, max: 3 }), (name, other, dots) => {
        const host = `${name}.example`;
        const spelt = `${host.toUpperCase()}${".".repeat(dots)}`;
        expect(canonicalOrigin(`https://${spelt}/`)).toBe(canonicalOrigin(`https://${host}:443/`));
        if (other !== name)
          expect(canonicalOrigin(`https://${other}.example/`)).not.toBe(canonicalOrigin(`https://${host}/`));
      }),
    );
  });
});
