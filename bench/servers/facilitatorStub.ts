import { randomBytes } from "node:crypto";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";

/**
 * A facilitator on loopback that accepts every payment at once (`/verify` valid, `/settle` success with a fresh
 * transaction hash, since the paywall claims each settlement's transaction), so a bench measures the paywall's own
 * cost. Runs in the bench's process: its CPU is not the server's.
 */
export async function facilitatorStub(payTo: string): Promise<{ url: string; close(): void }> {
  const supported = JSON.stringify({
    kinds: [
      { x402Version: 2, scheme: "exact", network: "eip155:84532" },
      { x402Version: 1, scheme: "exact", network: "base-sepolia" },
    ],
    extensions: [],
    signers: { "eip155:*": [payTo] },
  });
  const server = createServer((req, res) => {
    let body = "";
    req.on("data", (c: Buffer) => {
      body += c.toString();
    });
    req.on("end", () => {
      res.writeHead(200, { "content-type": "application/json" });
      if (req.url?.endsWith("/supported")) return res.end(supported);
      const payer = (/"from":"(0x[0-9a-fA-F]{40})"/.exec(body) ?? [])[1] ?? payTo;
      if (req.url?.endsWith("/verify")) return res.end(JSON.stringify({ isValid: true, payer }));
      return res.end(
        JSON.stringify({
          success: true,
          payer,
          transaction: `0x${randomBytes(32).toString("hex")}`,
          network: "eip155:84532",
        }),
      );
    });
  });
  server.keepAliveTimeout = 60_000;
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", () => resolve()));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    close: () => {
      server.closeAllConnections();
      server.close();
    },
  };
}
