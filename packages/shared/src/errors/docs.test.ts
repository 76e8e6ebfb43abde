import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { type ErrorCode, errorMessages } from "./codes.js";
import { errorDocsAnchor } from "./TollgateError.js";

describe("docs/errors.md", () => {
  const docs = readFileSync(new URL("../../../../docs/errors.md", import.meta.url), "utf8");

  it("documents every error code under the anchor its docsPath names, and no other", () => {
    const anchors = [...docs.matchAll(/^### ([a-z0-9-]+)$/gm)].map((m) => m[1]);
    const expected = (Object.keys(errorMessages) as ErrorCode[]).map(errorDocsAnchor);
    expect([...anchors].sort()).toEqual([...expected].sort());
    for (const code of Object.keys(errorMessages)) expect(docs).toContain(`\`${code}\``);
  });
});
