import { spawnSync } from "node:child_process";
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { describe, expect, it } from "vitest";

/**
 * Snapshots the public exports of every entry point of every package, from source, and checks that the
 * built ESM and CJS output (when `dist/` exists, as in CI after `pnpm build`) exports exactly the same names
 * when loaded by plain Node, as a user's program would load it.
 */
const root = join(import.meta.dirname, "..");
const packagesDir = join(root, "packages");

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

/** Export names of a built file, loaded by a fresh Node without vitest's hooks or export conditions. */
function builtExports(file: string, kind: "esm" | "cjs"): string[] {
  const script =
    kind === "esm"
      ? `const m = await import(${JSON.stringify(pathToFileURL(file).href)}); console.log(JSON.stringify(Object.keys(m)));`
      : `const m = require(${JSON.stringify(file)}); console.log(JSON.stringify(Object.keys(m).filter((k) => k !== "__esModule")));`;
  const { NODE_OPTIONS: _ignored, ...env } = process.env;
  const result = spawnSync(
    process.execPath,
    [...(kind === "esm" ? ["--input-type=module"] : []), "-e", script],
    { encoding: "utf8", env: { ...env, RUST_LOG: "error" }, cwd: root },
  );
  if (result.status !== 0) throw new Error(`loading ${file} failed: ${result.stderr}`);
  return (JSON.parse(result.stdout.trim().split("\n").at(-1) ?? "[]") as string[]).sort();
}

describe("public exports", () => {
  it.each(entryPoints.map((e) => [e.id, e] as const))("%s", async (_id, entry) => {
    expect(entry.target.source).toBeDefined();
    const source = (await import(pathToFileURL(join(entry.dir, entry.target.source ?? "")).href)) as object;
    const names = Object.keys(source).sort();
    expect(names).toMatchSnapshot();
    if (process.env.CI === "true") expect(builtEverywhere).toBe(true);
    if (!builtEverywhere) return;
    expect(builtExports(join(entry.dir, entry.target.import?.default ?? ""), "esm")).toEqual(names);
    expect(builtExports(join(entry.dir, entry.target.require?.default ?? ""), "cjs")).toEqual(names);
  });
});
