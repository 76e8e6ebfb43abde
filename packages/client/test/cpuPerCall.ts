// Measures the paying fetch's own CPU per paid call against a loopback server in another process that answers at
// once (no verification), next to a plain fetch of a free route. Run: node --conditions=source --import tsx
// test/cpuPerCall.ts [calls]. Prints one JSON line of microseconds of CPU (user + system) per call.
import { spawn } from "node:child_process";
import { privateKeyToAccount } from "viem/accounts";
import { createEvmWallet } from "../src/evm/evmWallet.js";
import { createPayingFetch } from "../src/payingFetch.js";

const calls = Number(process.argv[2] ?? 1000);
const requirement = {
  scheme: "exact",
  network: "eip155:84532",
  amount: "10000",
  asset: "0x036CbD53842c5426634e7929541eC2318f3dCF7e",
  payTo: "0x00000000000000000000000000000000000000a1",
  maxTimeoutSeconds: 300,
  extra: { name: "USDC", version: "2" },
};
const header = btoa(
  JSON.stringify({ x402Version: 2, resource: { url: "http://127.0.0.1/paid" }, accepts: [requirement] }),
);
const serverSource = `
const http = require("node:http");
const server = http.createServer((req, res) => {
  if (req.url.startsWith("/free") || req.headers["payment-signature"]) {
    res.writeHead(200, { "content-type": "application/json" });
    res.end('{"ok":true}');
    return;
  }
  res.writeHead(402, { "content-type": "application/json", "payment-required": ${JSON.stringify(header)} });
  res.end("{}");
});
server.listen(0, "127.0.0.1", () => console.log(server.address().port));
`;
const child = spawn(process.execPath, ["-e", serverSource], { stdio: ["ignore", "pipe", "inherit"] });
const port = await new Promise<string>((resolve) =>
  child.stdout.once("data", (d: Buffer) => resolve(d.toString().trim())),
);
const base = `http://127.0.0.1:${port}`;

const wallet = createEvmWallet({ account: privateKeyToAccount(`0x${"44".repeat(32)}`) });
const plain = (i: number) => fetch(`${base}/free?i=${i}`).then((r) => r.arrayBuffer());
const paying = createPayingFetch({ wallets: [wallet], policy: { budgets: [] } });
const cached = createPayingFetch({ wallets: [wallet], requirementCache: true });
const paid = (f: typeof paying) => (i: number) => f(`${base}/paid?i=${i}`).then((r) => r.arrayBuffer());

async function measure(run: (i: number) => Promise<unknown>): Promise<number> {
  for (let i = 0; i < 200; i++) await run(i);
  const start = process.cpuUsage();
  for (let i = 0; i < calls; i++) await run(i);
  const used = process.cpuUsage(start);
  return Math.round((used.user + used.system) / calls);
}

const result = {
  calls,
  plainFetchFreeRouteUs: await measure(plain),
  payingFetchFreeRouteUs: await measure((i) => paying(`${base}/free?i=${i}`).then((r) => r.arrayBuffer())),
  paidCallTwoRoundTripsUs: await measure(paid(paying)),
  paidCallCachedOneRoundTripUs: await measure(paid(cached)),
};
console.log(JSON.stringify(result));
child.kill();
