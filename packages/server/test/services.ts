import { connect } from "node:net";
import { describe, expect, it } from "vitest";

/** Whether something accepts TCP connections on `host:port` within a second. */
export function reachable(parameters: Readonly<{ port: number; host?: string }>): Promise<boolean> {
  const { port, host = "127.0.0.1" } = parameters;
  return new Promise((resolve) => {
    const socket = connect({ port, host });
    const done = (up: boolean) => {
      socket.destroy();
      resolve(up);
    };
    socket.setTimeout(1_000, () => done(false));
    socket.once("connect", () => done(true));
    socket.once("error", () => done(false));
  });
}

/**
 * Whether a test service (PostgreSQL, Redis) on loopback can be used. With `CI=true` a missing service is a
 * failing test (CI machines run them all); elsewhere the caller skips its suite and a note says so.
 */
export async function serviceForTests(
  parameters: Readonly<{ name: string; port: number }>,
): Promise<boolean> {
  const { name, port } = parameters;
  const up = await reachable({ port });
  if (up) return true;
  if (process.env.CI === "true") {
    describe(`${name} (required with CI=true)`, () => {
      it(`is reachable at 127.0.0.1:${port}`, () => {
        expect(up).toBe(true);
      });
    });
  } else {
    console.warn(`NOTE: ${name} is not reachable at 127.0.0.1:${port}; its store tests are skipped.`);
  }
  return false;
}
