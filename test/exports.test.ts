import { existsSync, readdirSync, readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { describe, expect, it } from "vitest";

/**
 * Snapshots the public exports of every entry point of every package, from source, and checks that the
 * built ESM and CJS output (when `dist/` exists, as in CI after `pnpm build`) exports exactly the same names.
 */
const root = join(import.meta.dirname, "..");
const packagesDir = join(root, "packages");
const require = createRequire(import.meta.url);

type Conditional = { types: string; default: string };
type ExportTarget = { source?: string; import?: Conditional; require?: Conditional };

const entryPoints = readdirSync(packagesDir)
  .filter((dir) => existsSync(join(packagesDir, dir, "package.json")))
  .flatMap((dir) => {
    const manifest = JSON.parse(readFileSync(join(packagesDir, dir, "package.json"), "utf8")) as {
      name: string;
      exports: Record<string, ExportTarget | string>;
    };
    return Object.entries(manifest.exports)
      .filter((entry): entry is [string, ExportTarget] => typeof entry[1] === "object")
      .map(([subpath, target]) => ({
        id: `${manifest.name}${subpath === "." ? "" : subpath.slice(1)}`,
        dir: join(packagesDir, dir),
        target,
      }));
  });

const builtEverywhere = entryPoints.every(
  (e) => e.target.import && existsSync(join(e.dir, e.target.import.default)),
);

describe("public exports", () => {
  it.each(entryPoints.map((e) => [e.id, e] as const))("%s", async (_id, entry) => {
    expect(entry.target.source).toBeDefined();
    const source = (await import(pathToFileURL(join(entry.dir, entry.target.source ?? "")).href)) as object;
    const names = Object.keys(source).sort();
    expect(names).toMatchSnapshot();
    if (process.env.CI === "true") expect(builtEverywhere).toBe(true);
    if (!builtEverywhere) return;
    const esm = (await import(
      pathToFileURL(join(entry.dir, entry.target.import?.default ?? "")).href
    )) as object;
    expect(Object.keys(esm).sort()).toEqual(names);
    const cjs = require(join(entry.dir, entry.target.require?.default ?? "")) as object;
    expect(
      Object.keys(cjs)
        .filter((k) => k !== "__esModule")
        .sort(),
    ).toEqual(names);
  });
});
