import { type ChildProcess, spawn } from "node:child_process";
import { join } from "node:path";

/** Parameters of `startPaidServer`. */
export type StartPaidServerParameters = Readonly<{
  /** `ours`, `ours-inproc`, `x402-express` or `bare` (see `paidServer.ts`). */
  kind: string;
  /** The facilitator the server calls; unused by `ours-inproc` and `bare`. */
  facilitatorUrl?: string;
  payTo: string;
}>;

/** Starts `paidServer.ts` in its own process (so its CPU is not the caller's) and resolves its URL. */
export async function startPaidServer(
  parameters: StartPaidServerParameters,
): Promise<{ url: string; child: ChildProcess }> {
  const { kind, facilitatorUrl = "", payTo } = parameters;
  return startServerProcess({ script: "paidServer.ts", args: [kind, facilitatorUrl, payTo] });
}

/**
 * Starts a bench server (`script`, a file of this folder, run from source with tsx) in its own process with
 * `args`, and resolves the URL it prints (`URL http://…`); rejects when it exits first.
 */
export async function startServerProcess(
  parameters: Readonly<{ script: string; args: readonly string[] }>,
): Promise<{ url: string; child: ChildProcess }> {
  const { script, args } = parameters;
  const child = spawn(
    process.execPath,
    ["--conditions=source", "--import", "tsx", join(import.meta.dirname, script), ...args],
    { stdio: ["ignore", "pipe", "inherit"] },
  );
  const url = await new Promise<string>((resolve, reject) => {
    child.once("exit", (code) => reject(new Error(`${script} exited with ${code} before listening`)));
    child.stdout?.on("data", (chunk: Buffer) => {
      const match = /URL (\S+)/.exec(chunk.toString());
      if (match?.[1]) resolve(match[1]);
    });
  });
  return { url, child };
}
