import { spawn, spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { resolveAnvilBinary } from "./anvil.js";

// A child Node process starts anvil through the kit and then ends without calling stop(): by exiting, by a signal,
// or by an uncaught exception. The anvil it started must be gone once the child has exited.

const repositoryRoot = fileURLToPath(new URL("../../../../", import.meta.url));
const anvilModule = fileURLToPath(new URL("./anvil.ts", import.meta.url));
let workDir = "";
let childScript = "";

beforeAll(() => {
  workDir = mkdtempSync(join(tmpdir(), "tollgate-anvil-exit-"));
  childScript = join(workDir, "child.mjs");
  const entry = `
    import { startAnvil } from ${JSON.stringify(anvilModule)};
    const [binary, ending] = process.argv.slice(2);
    const anvil = await startAnvil({ binary });
    process.stdout.write(JSON.stringify({ pid: anvil.pid }) + "\\n");
    if (ending === "exit") process.exit(0);
    if (ending === "throw") setTimeout(() => { throw new Error("boom"); }, 0);
    if (ending === "signal") setInterval(() => {}, 1_000);
  `;
  // Node 20 cannot load TypeScript: bundle the kit's launcher (and @tollgate/shared from source) into one file.
  const built = spawnSync(
    join(repositoryRoot, "node_modules/.bin/esbuild"),
    [
      "--bundle",
      "--platform=node",
      "--format=esm",
      "--conditions=source",
      `--outfile=${childScript}`,
      "--log-level=error",
    ],
    { input: entry, cwd: repositoryRoot, encoding: "utf8" },
  );
  if (built.status !== 0) throw new Error(`esbuild failed: ${built.stderr}`);
});
const startedPids: number[] = [];
afterAll(() => {
  // When a test fails, do not leave its orphaned anvil behind.
  for (const pid of startedPids) if (isAlive(pid)) process.kill(pid, "SIGKILL");
  rmSync(workDir, { recursive: true, force: true });
});

/** Whether a process runs. A killed child whose parent already exited is a zombie until init reaps it: not running. */
function isAlive(pid: number): boolean {
  try {
    const state = readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1]?.[0];
    if (state !== undefined) return state !== "Z" && state !== "X";
  } catch {
    // No /proc (not Linux) or no such process: ask the kernel below.
  }
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ESRCH") return false;
    throw error;
  }
}

async function waitUntilGone(pid: number, timeoutMs = 5_000): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (!isAlive(pid)) return true;
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  return !isAlive(pid);
}

/** Runs the child until it has started anvil; returns anvil's pid and a promise of the child's exit. */
async function runChild(ending: "exit" | "throw" | "signal") {
  const child = spawn(process.execPath, [childScript, resolveAnvilBinary(), ending], {
    stdio: ["ignore", "pipe", "ignore"],
  });
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.once("exit", (code, signal) => resolve({ code, signal })),
  );
  const pid = await new Promise<number>((resolve, reject) => {
    let output = "";
    child.stdout.setEncoding("utf8");
    child.stdout.on("data", (chunk: string) => {
      output += chunk;
      const line = output.split("\n")[0];
      if (output.includes("\n") && line !== undefined) resolve((JSON.parse(line) as { pid: number }).pid);
    });
    child.once("exit", () => reject(new Error(`child exited before starting anvil: ${output}`)));
  });
  startedPids.push(pid);
  return { child, pid, exited };
}

describe("no anvil outlives its parent", () => {
  it("kills anvil when the parent exits without stop()", async () => {
    const { pid, exited } = await runChild("exit");
    expect((await exited).code).toBe(0);
    expect(await waitUntilGone(pid)).toBe(true);
  });

  it("kills anvil when the parent dies of an uncaught exception", async () => {
    const { pid, exited } = await runChild("throw");
    expect((await exited).code).toBe(1);
    expect(await waitUntilGone(pid)).toBe(true);
  });

  it("kills anvil on SIGTERM, and the parent still terminates by that signal", async () => {
    const { child, pid, exited } = await runChild("signal");
    expect(isAlive(pid)).toBe(true);
    child.kill("SIGTERM");
    expect((await exited).signal).toBe("SIGTERM");
    expect(await waitUntilGone(pid)).toBe(true);
  });

  it("kills anvil on SIGINT, and the parent still terminates by that signal", async () => {
    const { child, pid, exited } = await runChild("signal");
    child.kill("SIGINT");
    expect((await exited).signal).toBe("SIGINT");
    expect(await waitUntilGone(pid)).toBe(true);
  });
});
