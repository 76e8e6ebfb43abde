// Regenerates the golden wire samples in packages/shared/test/golden/fixtures/ with the REAL reference SDKs:
// @x402/core, @x402/evm, @x402/svm 2.27.0 (v2, and their v1 classes) and x402, x402-express 1.2.0 (legacy v1).
//
//   node packages/shared/scripts/golden.mjs        (from the repository root)
//
// Every value in a fixture comes out of an SDK function: their client scheme classes sign, their encoders
// write the headers, x402HTTPResourceServer / x402-express build the 402s and receipts, HTTPFacilitatorClient and
// x402's useFacilitator POST the /verify and /settle bodies (captured here by a loopback node:http server), and
// x402Facilitator with the real exact-scheme facilitators answers them. Only the chain is stood in for: a
// loopback Solana JSON-RPC server (mint account, blockhash, simulate, send, statuses) and an in-memory EIP-3009
// token behind the FacilitatorEvmSigner port. Nothing leaves 127.0.0.1.
//
// For stable output the clock is frozen (Date.now) and crypto.getRandomValues is a seeded stream (re-seeded per
// sample), so re-running gives byte-identical files; keys are derived from public labels the way
// @tollgate/testing derives them.
import { createHash } from "node:crypto";
import { mkdirSync, rmSync, writeFileSync } from "node:fs";
import http from "node:http";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

import { MintLayout } from "@solana/spl-token";
import { PublicKey } from "@solana/web3.js";
import { x402Client, x402HTTPClient } from "@x402/core/client";
import { x402Facilitator } from "@x402/core/facilitator";
import {
  decodePaymentRequiredHeader,
  decodePaymentResponseHeader,
  decodePaymentSignatureHeader,
} from "@x402/core/http";
import { HTTPFacilitatorClient, x402HTTPResourceServer, x402ResourceServer } from "@x402/core/server";
import { eip3009ABI, toFacilitatorEvmSigner } from "@x402/evm";
import { registerExactEvmScheme as registerEvmClient } from "@x402/evm/exact/client";
import { registerExactEvmScheme as registerEvmFacilitator } from "@x402/evm/exact/facilitator";
import { registerExactEvmScheme as registerEvmServer } from "@x402/evm/exact/server";
import { toFacilitatorSvmSigner } from "@x402/svm";
import { ExactSvmScheme as ExactSvmClient } from "@x402/svm/exact/client";
import { registerExactSvmScheme as registerSvmFacilitator } from "@x402/svm/exact/facilitator";
import { registerExactSvmScheme as registerSvmServer } from "@x402/svm/exact/server";
import { ExactSvmSchemeV1 as ExactSvmClientV1 } from "@x402/svm/v1";
import express from "express";
import {
  concat,
  decodeFunctionData,
  encodeAbiParameters,
  encodeEventTopics,
  encodeFunctionData,
  encodeFunctionResult,
  getAddress,
  isAddressEqual,
  keccak256,
  parseAbi,
  stringToBytes,
  verifyTypedData,
} from "viem";
import { privateKeyToAccount } from "viem/accounts";
import { createPaymentHeader, preparePaymentHeader, signPaymentHeader } from "x402/client";
import { verify as legacyVerify } from "x402/facilitator";
import { decodeXPaymentResponse, safeBase64Decode } from "x402/shared";
import { createSigner } from "x402/types";
import { paymentMiddleware } from "x402-express";

const FIXTURES = join(dirname(fileURLToPath(import.meta.url)), "..", "test", "golden", "fixtures");

// ---------------------------------------------------------------------------------------------------------------
// Determinism: a frozen clock and a seeded random stream.

/** 2026-01-01T12:00:00Z: every `validBefore`, `validAfter` in the fixtures is relative to it. */
const NOW_MS = Date.UTC(2026, 0, 1, 12, 0, 0);
const NOW = Math.floor(NOW_MS / 1000);
Date.now = () => NOW_MS;

let randomLabel = "init";
let randomCounter = 0;
/** Restarts the random stream, so that each sample's nonces depend only on its own label. */
function reseed(label) {
  randomLabel = label;
  randomCounter = 0;
}
globalThis.crypto.getRandomValues = (array) => {
  const bytes = new Uint8Array(array.buffer, array.byteOffset, array.byteLength);
  let offset = 0;
  while (offset < bytes.length) {
    const block = createHash("sha256")
      .update(`tollgate/golden/random/${randomLabel}/${randomCounter++}`)
      .digest();
    const n = Math.min(block.length, bytes.length - offset);
    bytes.set(block.subarray(0, n), offset);
    offset += n;
  }
  return array;
};

// ---------------------------------------------------------------------------------------------------------------
// Constants and keys.

const BASE_SEPOLIA = "eip155:84532";
const BASE = "eip155:8453";
const SOLANA_DEVNET = "solana:EtWTRABZaYq6iMfeYKouRu166VU2xqa1";
const USDC = {
  [BASE_SEPOLIA]: { address: "0x036CbD53842c5426634e7929541eC2318f3dCF7e", name: "USDC" },
  [BASE]: { address: "0x833589fCD6eDb6E08f4c7C32D4f71b54bdA02913", name: "USD Coin" },
};
const USDC_DEVNET_MINT = "4zMMC9srt5Ri5X14GAgXhaHii3GnPAEERYPJgZJDncDU";
const TOKEN_PROGRAM = "TokenkegQfeZyiNwAJbNbGKPFXCWuBvf9Ss623VQ5DA";
const PUBLIC_ORIGIN = "https://api.example.com";

const BASE58 = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz";
function base58(bytes) {
  let n = 0n;
  for (const b of bytes) n = n * 256n + BigInt(b);
  let out = "";
  while (n > 0n) {
    out = BASE58[Number(n % 58n)] + out;
    n /= 58n;
  }
  for (const b of bytes) {
    if (b !== 0) break;
    out = `1${out}`;
  }
  return out;
}
const label = (name) => createHash("sha256").update(name, "utf8").digest();
/** Same derivation as @tollgate/testing's deriveEvmTestPrivateKey. */
const evmKey = (name) => keccak256(stringToBytes(`tollgate/testing/evm/${name}`));
/** Same derivation as @tollgate/testing's deriveSvmTestKeypair: the ed25519 seed. */
const svmSeed = (name) => label(`tollgate/testing/svm/${name}`);

const evmPayerKey = evmKey("golden/payer");
const evmUnfundedKey = evmKey("golden/payer-unfunded");
const evmPayer = privateKeyToAccount(evmPayerKey);
const evmUnfunded = privateKeyToAccount(evmUnfundedKey);
const evmPayee = privateKeyToAccount(evmKey("golden/payee"));
const evmFacilitator = privateKeyToAccount(evmKey("golden/facilitator"));
// Solana signers from x402 1.2.0's own factory: createSigner(v1 name, base58 32-byte seed) -> @solana/kit
// KeyPairSigner (the same @solana/kit 5.5.1 that @x402/svm uses, so one signer serves both SDKs).
const svmPayer = await createSigner("solana-devnet", base58(svmSeed("golden/payer")));
const svmPayee = await createSigner("solana-devnet", base58(svmSeed("golden/payee")));
const svmFeePayer = await createSigner("solana-devnet", base58(svmSeed("golden/facilitator")));
const svmMintAuthority = await createSigner("solana-devnet", base58(svmSeed("golden/mint-authority")));
const BLOCKHASH = base58(label("tollgate/golden/blockhash"));
const LAST_VALID_BLOCK_HEIGHT = 391_234_567;
const SLOT = 403_456_789;

// ---------------------------------------------------------------------------------------------------------------
// Small helpers.

async function listen(server) {
  await new Promise((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address();
  return `http://127.0.0.1:${port}`;
}

async function readBody(req) {
  const chunks = [];
  for await (const chunk of req) chunks.push(chunk);
  return Buffer.concat(chunks).toString("utf8");
}

/** A GET through node:http, so that the Host header can be the public one a proxy would forward. */
function get(baseUrl, path, headers = {}) {
  const url = new URL(path, baseUrl);
  return new Promise((resolve, reject) => {
    const req = http.request(
      url,
      {
        method: "GET",
        headers: {
          host: "api.example.com",
          "x-forwarded-proto": "https",
          accept: "application/json",
          ...headers,
        },
      },
      async (res) => {
        const text = await readBody(res);
        resolve({ status: res.statusCode, headers: res.headers, text });
      },
    );
    req.on("error", reject);
    req.end();
  });
}

/** Reads a compact-u16 (shortvec) at `offset`; returns [value, next offset]. */
function shortvec(bytes, offset) {
  let value = 0;
  let shift = 0;
  let i = offset;
  for (;;) {
    const b = bytes[i++];
    value |= (b & 0x7f) << shift;
    if ((b & 0x80) === 0) return [value, i];
    shift += 7;
  }
}

const PROGRAM_NAMES = {
  ComputeBudget111111111111111111111111111111: "ComputeBudget",
  [TOKEN_PROGRAM]: "Token",
  TokenzQdBNbLqP5VEhdkAS6EPFLC1PHnBqCXEpPxuEb: "Token-2022",
  MemoSq4gqABAXKb96qnH8TysNcWxMyWCqXgDLGmfcHr: "Memo",
  L2TExMFKdjpN9kozasaurPirfHy9P8sbXoAN1qA3S95: "Lighthouse",
};

/** Decodes a base64 wire transaction far enough to describe it (signatures, version, accounts, instructions). */
function describeSolanaTransaction(base64) {
  const bytes = Buffer.from(base64, "base64");
  const [sigCount, afterCount] = shortvec(bytes, 0);
  const signatures = [];
  for (let i = 0; i < sigCount; i++) {
    const sig = bytes.subarray(afterCount + 64 * i, afterCount + 64 * (i + 1));
    signatures.push(sig.every((b) => b === 0) ? null : base58(sig));
  }
  let o = afterCount + 64 * sigCount;
  const versioned = (bytes[o] & 0x80) !== 0;
  const version = versioned ? bytes[o] & 0x7f : "legacy";
  if (versioned) o += 1;
  const header = { required: bytes[o], readonlySigned: bytes[o + 1], readonlyUnsigned: bytes[o + 2] };
  o += 3;
  const [keyCount, afterKeys] = shortvec(bytes, o);
  o = afterKeys;
  const keys = [];
  for (let i = 0; i < keyCount; i++) keys.push(base58(bytes.subarray(o + 32 * i, o + 32 * (i + 1))));
  o += 32 * keyCount;
  const blockhash = base58(bytes.subarray(o, o + 32));
  o += 32;
  const [ixCount, afterIx] = shortvec(bytes, o);
  o = afterIx;
  const instructions = [];
  for (let i = 0; i < ixCount; i++) {
    const program = keys[bytes[o]];
    o += 1;
    const [accCount, afterAcc] = shortvec(bytes, o);
    const accounts = [...bytes.subarray(afterAcc, afterAcc + accCount)].map((k) => keys[k]);
    o = afterAcc + accCount;
    const [dataLen, afterLen] = shortvec(bytes, o);
    const data = bytes.subarray(afterLen, afterLen + dataLen);
    o = afterLen + dataLen;
    instructions.push({ program, accounts, data });
  }
  let lookups = 0;
  if (versioned && o < bytes.length) [lookups] = shortvec(bytes, o);
  const feePayer = keys[0];
  const describe = ({ program, accounts, data }) => {
    const name = PROGRAM_NAMES[program] ?? program;
    if (name === "ComputeBudget" && data[0] === 2)
      return `ComputeBudget.SetComputeUnitLimit(${data.readUInt32LE(1)})`;
    if (name === "ComputeBudget" && data[0] === 3)
      return `ComputeBudget.SetComputeUnitPrice(${data.readBigUInt64LE(1)} microlamports)`;
    if ((name === "Token" || name === "Token-2022") && data[0] === 12)
      return `${name}.TransferChecked(amount ${data.readBigUInt64LE(1)}, decimals ${data[9]}; source ${accounts[0]}, mint ${accounts[1]}, destination ${accounts[2]}, authority ${accounts[3]})`;
    if (name === "Memo") return `Memo(${JSON.stringify(data.toString("utf8"))}, ${accounts.length} accounts)`;
    return `${name}(${data.length} bytes)`;
  };
  return {
    version,
    signatures,
    header,
    feePayer,
    keys,
    blockhash,
    instructions,
    lookups,
    summary: [
      `v${version} transaction, ${sigCount} signature slots (${signatures.filter((s) => s === null).length} still empty), fee payer ${feePayer}, ${keys.length} static accounts, ${lookups} address lookup tables, recent blockhash ${blockhash}`,
      `${ixCount} instructions: ${instructions.map(describe).join("; ")}`,
      `fee payer among instruction accounts: ${instructions.some((ix) => ix.accounts.includes(feePayer))}`,
    ],
  };
}

function describeHeader(header, decodedText) {
  const padded = header.endsWith("=") ? "padded" : "no padding needed";
  const compact = decodedText === JSON.stringify(JSON.parse(decodedText));
  const ascii = [...decodedText].every((c) => c.charCodeAt(0) < 0x80);
  return `header: ${header.length} chars of standard base64 (${padded}) of ${compact ? "compact JSON.stringify output" : "non-compact JSON"}, ${ascii ? "all ASCII" : "contains non-ASCII"}`;
}

function describeEvmAuthorization(authorization, maxTimeoutSeconds) {
  const after = BigInt(authorization.validAfter);
  const before = BigInt(authorization.validBefore);
  const afterText =
    after === 0n
      ? "0"
      : `now ${after - BigInt(NOW) >= 0n ? "+" : "-"} ${Math.abs(Number(after - BigInt(NOW)))}`;
  return `authorization: validAfter = ${afterText}, validBefore = now + ${before - BigInt(NOW)} (maxTimeoutSeconds ${maxTimeoutSeconds}), value ${authorization.value}, nonce 32 bytes hex, signature ${(authorization.signature ?? "").length} chars; now = ${NOW}`;
}

const written = [];
/** Writes `fixtures/<name>.json` as { producedBy, header?, notes?, value }. */
function fixture(name, { producedBy, header, notes, value }) {
  const file = join(FIXTURES, `${name}.json`);
  mkdirSync(dirname(file), { recursive: true });
  const body = {
    producedBy,
    ...(header !== undefined && { header }),
    ...(notes?.length && { notes }),
    value,
  };
  writeFileSync(file, `${JSON.stringify(body, null, 2)}\n`);
  written.push(name);
}

function assert(condition, message) {
  if (!condition) throw new Error(`golden: ${message}`);
}

// ---------------------------------------------------------------------------------------------------------------
// The chain stand-ins.

/** A loopback Solana JSON-RPC server with realistic answers for what the SVM clients and facilitators call. */
async function startSolanaRpc() {
  const calls = [];
  const mintData = Buffer.alloc(MintLayout.span);
  MintLayout.encode(
    {
      mintAuthorityOption: 1,
      mintAuthority: new PublicKey(svmMintAuthority.address),
      supply: 1_000_000_000_000_000n,
      decimals: 6,
      isInitialized: true,
      freezeAuthorityOption: 1,
      freezeAuthority: new PublicKey(svmMintAuthority.address),
    },
    mintData,
  );
  const context = { apiVersion: "2.3.6", slot: SLOT };
  const simulate = (base64) => {
    const tx = describeSolanaTransaction(base64);
    const logs = [];
    let units = 0;
    for (const ix of tx.instructions) {
      const name = PROGRAM_NAMES[ix.program] ?? ix.program;
      logs.push(`Program ${ix.program} invoke [1]`);
      let used = 150;
      if (name === "Token") {
        logs.push("Program log: Instruction: TransferChecked");
        used = 6200;
      } else if (name === "Memo") {
        logs.push(`Program log: Memo (len ${ix.data.length}): ${JSON.stringify(ix.data.toString("utf8"))}`);
        used = 36 * ix.data.length + 500;
      }
      if (name !== "ComputeBudget")
        logs.push(`Program ${ix.program} consumed ${used} of ${1_400_000 - units} compute units`);
      logs.push(`Program ${ix.program} success`);
      units += used;
    }
    return {
      context,
      value: {
        accounts: null,
        err: null,
        innerInstructions: null,
        loadedAccountsDataSize: 413_741,
        logs,
        replacementBlockhash: null,
        returnData: null,
        unitsConsumed: units,
      },
    };
  };
  const server = http.createServer(async (req, res) => {
    const request = JSON.parse(await readBody(req));
    const { id, method, params = [] } = request;
    calls.push(method);
    let result;
    switch (method) {
      case "getAccountInfo":
        result = {
          context,
          value:
            params[0] === USDC_DEVNET_MINT
              ? {
                  data: [mintData.toString("base64"), "base64"],
                  executable: false,
                  lamports: 1_461_600,
                  owner: TOKEN_PROGRAM,
                  rentEpoch: "__U64_MAX__",
                  space: MintLayout.span,
                }
              : null,
        };
        break;
      case "getLatestBlockhash":
        result = { context, value: { blockhash: BLOCKHASH, lastValidBlockHeight: LAST_VALID_BLOCK_HEIGHT } };
        break;
      case "simulateTransaction":
        result = simulate(params[0]);
        break;
      case "sendTransaction": {
        const tx = describeSolanaTransaction(params[0]);
        assert(
          tx.signatures.every((s) => s !== null),
          "sendTransaction got a transaction with an empty signature",
        );
        result = tx.signatures[0];
        break;
      }
      case "getSignatureStatuses":
        result = {
          context,
          value: params[0].map(() => ({
            confirmationStatus: "confirmed",
            confirmations: 1,
            err: null,
            slot: SLOT,
            status: { Ok: null },
          })),
        };
        break;
      default:
        res.writeHead(200, { "content-type": "application/json" });
        res.end(JSON.stringify({ jsonrpc: "2.0", id, error: { code: -32601, message: "Method not found" } }));
        return;
    }
    res.writeHead(200, { "content-type": "application/json" });
    res.end(JSON.stringify({ jsonrpc: "2.0", id, result }).replace('"__U64_MAX__"', "18446744073709551615"));
  });
  const url = await listen(server);
  return { url, calls, close: () => server.close() };
}

/**
 * The FacilitatorEvmSigner port over an in-memory EIP-3009 token (FiatToken semantics): enough chain for the real
 * @x402/evm facilitator to verify (getCode, ECDSA recovery, transferWithAuthorization simulation, the Multicall3
 * diagnosis) and settle (writeContract, a receipt with the Transfer log).
 */
function createEvmChain() {
  const balances = new Map([
    [evmPayer.address.toLowerCase(), 5_000_000n],
    [evmUnfunded.address.toLowerCase(), 0n],
  ]);
  const usedNonces = new Set();
  const receipts = new Map();
  const transferEvent = parseAbi(["event Transfer(address indexed from, address indexed to, uint256 value)"]);
  const tokenOf = (address) => Object.values(USDC).find((t) => isAddressEqual(t.address, address));
  const chain = { mode: "ok", block: 24_000_000n };

  const call = (address, functionName, args, commit) => {
    const token = tokenOf(address);
    if (!token) throw new Error(`execution reverted: no contract at ${address}`);
    switch (functionName) {
      case "balanceOf":
        return balances.get(args[0].toLowerCase()) ?? 0n;
      case "name":
        return token.name;
      case "version":
        return "2";
      case "decimals":
        return 6;
      case "authorizationState":
        return usedNonces.has(args[1]);
      case "transferWithAuthorization":
      case "receiveWithAuthorization": {
        const [from, to, value, validAfter, validBefore, nonce] = args;
        if (BigInt(NOW) <= validAfter)
          throw new Error("execution reverted: FiatTokenV2: authorization is not yet valid");
        if (BigInt(NOW) >= validBefore)
          throw new Error("execution reverted: FiatTokenV2: authorization is expired");
        if (usedNonces.has(nonce))
          throw new Error("execution reverted: FiatTokenV2: authorization is used or canceled");
        const balance = balances.get(from.toLowerCase()) ?? 0n;
        if (balance < value) throw new Error("execution reverted: ERC20: transfer amount exceeds balance");
        if (commit) {
          usedNonces.add(nonce);
          balances.set(from.toLowerCase(), balance - value);
          balances.set(to.toLowerCase(), (balances.get(to.toLowerCase()) ?? 0n) + value);
        }
        return undefined;
      }
      default:
        throw new Error(`execution reverted: unknown function ${functionName}`);
    }
  };

  const client = {
    address: evmFacilitator.address,
    async getCode({ address }) {
      return tokenOf(address) ? "0x60806040526004361061012a5760003560e01c8063" : "0x";
    },
    async readContract({ address, functionName, args = [] }) {
      if (functionName === "tryAggregate") {
        return args[1].map(({ target, callData }) => {
          try {
            const decoded = decodeFunctionData({ abi: eip3009ABI, data: callData });
            const result = call(target, decoded.functionName, decoded.args ?? [], false);
            const returnData = encodeFunctionResult({
              abi: eip3009ABI,
              functionName: decoded.functionName,
              result,
            });
            return { success: true, returnData };
          } catch {
            return { success: false, returnData: "0x" };
          }
        });
      }
      return call(address, functionName, args, false);
    },
    async verifyTypedData(args) {
      return verifyTypedData(args);
    },
    async writeContract({ address, abi, functionName, args }) {
      const data = encodeFunctionData({ abi, functionName, args });
      const hash = keccak256(concat([evmFacilitator.address, address, data]));
      let status = "success";
      if (chain.mode === "revert") status = "reverted";
      else call(address, functionName, args, true);
      const [from, to, value] = args;
      chain.block += 1n;
      const logs =
        status === "success"
          ? [
              {
                address: getAddress(address),
                topics: encodeEventTopics({ abi: transferEvent, eventName: "Transfer", args: { from, to } }),
                data: encodeAbiParameters([{ type: "uint256" }], [value]),
                blockNumber: chain.block,
                transactionHash: hash,
                transactionIndex: 0,
                logIndex: 0,
                removed: false,
              },
            ]
          : [];
      receipts.set(hash, { status, transactionHash: hash, blockNumber: chain.block, logs });
      return hash;
    },
    async sendTransaction() {
      throw new Error("golden: sendTransaction is not expected for EIP-3009 payments");
    },
    async waitForTransactionReceipt({ hash }) {
      const receipt = receipts.get(hash);
      if (!receipt) throw new Error(`golden: no receipt for ${hash}`);
      return receipt;
    },
  };
  return { chain, signer: toFacilitatorEvmSigner(client) };
}

/** A loopback facilitator: x402Facilitator behind /supported, /verify, /settle; it keeps every exchange. */
async function startFacilitatorServer(facilitator) {
  const exchanges = [];
  const server = http.createServer(async (req, res) => {
    const raw = await readBody(req);
    let status = 200;
    let answer;
    try {
      if (req.method === "GET" && req.url === "/supported") {
        answer = facilitator.getSupported();
      } else if (req.method === "POST" && (req.url === "/verify" || req.url === "/settle")) {
        const { paymentPayload, paymentRequirements } = JSON.parse(raw);
        answer =
          req.url === "/verify"
            ? await facilitator.verify(paymentPayload, paymentRequirements)
            : await facilitator.settle(paymentPayload, paymentRequirements);
      } else {
        status = 404;
        answer = { error: "not found" };
      }
    } catch (error) {
      status = 500;
      answer = { error: error instanceof Error ? error.message : String(error) };
    }
    const text = JSON.stringify(answer);
    exchanges.push({
      method: req.method,
      path: req.url,
      contentType: req.headers["content-type"],
      request: raw,
      status,
      response: text,
    });
    res.writeHead(status, { "content-type": "application/json" });
    res.end(text);
  });
  const url = await listen(server);
  return { url, exchanges, close: () => server.close() };
}

// ---------------------------------------------------------------------------------------------------------------
// Set up: chain stand-ins, the facilitator, a v2 resource server, v2 clients, a v1 express app.

rmSync(FIXTURES, { recursive: true, force: true });

const rpc = await startSolanaRpc();
const evm = createEvmChain();

const facilitator = new x402Facilitator();
registerEvmFacilitator(facilitator, { signer: evm.signer, networks: [BASE_SEPOLIA, BASE] });
registerSvmFacilitator(facilitator, {
  signer: toFacilitatorSvmSigner(svmFeePayer, { defaultRpcUrl: rpc.url }),
  networks: [SOLANA_DEVNET],
});
const fac = await startFacilitatorServer(facilitator);

/** The exchanges the facilitator saw during `run`. */
async function capture(run) {
  const start = fac.exchanges.length;
  const result = await run();
  return { result, exchanges: fac.exchanges.slice(start) };
}
const only = (exchanges, path) => {
  const found = exchanges.filter((e) => e.path === path);
  assert(found.length === 1, `expected exactly one ${path} call, saw ${found.length}`);
  return found[0];
};

// /supported: x402Facilitator.getSupported() with the exact EVM and SVM facilitators registered.
const supported = facilitator.getSupported();
fixture("v2/supported", {
  producedBy:
    "@x402/core@2.27.0 x402Facilitator.getSupported() after @x402/evm@2.27.0 exact/facilitator registerExactEvmScheme(facilitator, { signer, networks: [eip155:84532, eip155:8453] }) and @x402/svm@2.27.0 exact/facilitator registerExactSvmScheme(facilitator, { signer: toFacilitatorSvmSigner(feePayer), networks: [solana devnet] })",
  notes: [
    `${supported.kinds.length} kinds: ${supported.kinds.filter((k) => k.x402Version === 2).length} for x402Version 2 (CAIP-2) and ${supported.kinds.filter((k) => k.x402Version === 1).length} for x402Version 1 (v1 names): the register helpers add a v1 kind for EVERY v1 network name they know, whatever networks were passed`,
    "EVM kinds carry no extra; every SVM kind carries extra.feePayer (one of the facilitator's addresses, picked at random per call)",
    "signers are grouped by CAIP family pattern ('eip155:*', 'solana:*'); extensions is [] when none is registered",
  ],
  value: supported,
});

// The v2 resource server: x402ResourceServer + x402HTTPResourceServer (what @x402/express and @x402/hono wrap),
// talking to the loopback facilitator through HTTPFacilitatorClient.
const resourceServer = new x402ResourceServer(new HTTPFacilitatorClient({ url: fac.url }));
registerEvmServer(resourceServer);
registerSvmServer(resourceServer);
const route = (network, payTo) => ({
  accepts: { scheme: "exact", network, payTo, price: "$0.01" },
  description: "Weather report",
  mimeType: "application/json",
});
const v2Routes = {
  "GET /v2/evm/weather": route(BASE_SEPOLIA, evmPayee.address),
  "GET /v2/base/weather": route(BASE, evmPayee.address),
  "GET /v2/svm/weather": route(SOLANA_DEVNET, svmPayee.address),
};
const httpServer = new x402HTTPResourceServer(resourceServer, v2Routes);
await httpServer.initialize(); // GET /supported through HTTPFacilitatorClient
assert(
  only(fac.exchanges, "/supported").response === JSON.stringify(supported),
  "/supported served something else than the fixture",
);

function adapter(path, headers = {}) {
  const lower = Object.fromEntries(Object.entries(headers).map(([k, v]) => [k.toLowerCase(), v]));
  return {
    getHeader: (name) => lower[name.toLowerCase()],
    getMethod: () => "GET",
    getPath: () => path,
    getUrl: () => `${PUBLIC_ORIGIN}${path}`,
    getAcceptHeader: () => "application/json",
    getUserAgent: () => "tollgate-golden/1.0",
  };
}

/** v2 clients: x402Client with @x402/evm's register helper and @x402/svm's scheme classes (pointed at the RPC). */
function v2Client(evmSigner) {
  const client = new x402Client();
  registerEvmClient(client, { signer: evmSigner });
  // registerExactSvmScheme(client, { signer }) would use the public devnet RPC; the classes take { rpcUrl }.
  client.register("solana:*", new ExactSvmClient(svmPayer, { rpcUrl: rpc.url }));
  client.registerV1("solana-devnet", new ExactSvmClientV1(svmPayer, { rpcUrl: rpc.url }));
  return new x402HTTPClient(client);
}
const payerClient = v2Client(evmPayer);
const unfundedClient = v2Client(evmUnfunded);

// ---------------------------------------------------------------------------------------------------------------
// v2 samples.

async function v2Flow(net, path, client, { expectSettle = true } = {}) {
  // 1. The 402.
  const unpaid = await httpServer.processHTTPRequest({ adapter: adapter(path), path, method: "GET" });
  assert(unpaid.type === "payment-error" && unpaid.response.status === 402, `${net}: expected a 402`);
  const requiredHeader = unpaid.response.headers["PAYMENT-REQUIRED"];
  const paymentRequired = decodePaymentRequiredHeader(requiredHeader);

  // 2. The client's answer.
  reseed(`v2/${net}`);
  const http402 = client.getPaymentRequiredResponse(
    (name) => unpaid.response.headers[name],
    unpaid.response.body,
  );
  const paymentPayload = await client.createPaymentPayload(http402);
  const signatureHeaders = client.encodePaymentSignatureHeader(paymentPayload);
  const signatureHeader = signatureHeaders["PAYMENT-SIGNATURE"];
  assert(typeof signatureHeader === "string", `${net}: no PAYMENT-SIGNATURE header`);

  // 3. The server verifies (POST /verify) and, after the handler, settles (POST /settle).
  const context = { adapter: adapter(path, signatureHeaders), path, method: "GET" };
  const verified = await capture(() => httpServer.processHTTPRequest(context));
  let settled;
  if (verified.result.type === "payment-verified" && expectSettle) {
    settled = await capture(() =>
      httpServer.processSettlement(
        verified.result.paymentPayload,
        verified.result.paymentRequirements,
        verified.result.declaredExtensions,
        { request: context },
      ),
    );
  }
  return { unpaid, requiredHeader, paymentRequired, paymentPayload, signatureHeader, verified, settled };
}

const v2Notes = {
  required: (header) => [
    describeHeader(header, safeBase64Decode(header)),
    "the HTTP answer is status 402, headers { Content-Type: application/json, PAYMENT-REQUIRED, Cache-Control: no-store }, body {}",
  ],
};

for (const [net, path, network] of [
  ["evm", "/v2/evm/weather", BASE_SEPOLIA],
  ["base", "/v2/base/weather", BASE],
  ["svm", "/v2/svm/weather", SOLANA_DEVNET],
]) {
  const flow = await v2Flow(net, path, payerClient);
  const { unpaid, requiredHeader, paymentRequired, paymentPayload, signatureHeader, verified, settled } =
    flow;

  // The same requirement straight from x402ResourceServer.buildPaymentRequirements.
  const direct = await resourceServer.buildPaymentRequirements({ ...v2Routes[`GET ${path}`].accepts });
  assert(
    JSON.stringify(direct[0]) === JSON.stringify(paymentRequired.accepts[0]),
    `${net}: buildPaymentRequirements differs from the 402's accepts[0]`,
  );
  assert(paymentRequired.accepts[0].network === network, `${net}: unexpected network`);

  fixture(`v2/payment-required.${net}`, {
    producedBy:
      "@x402/core@2.27.0 x402HTTPResourceServer.processHTTPRequest() (x402ResourceServer.buildPaymentRequirements + createPaymentRequiredResponse, encodePaymentRequiredHeader) with @x402/evm|@x402/svm exact/server registerExactEvmScheme|registerExactSvmScheme; header = response.headers['PAYMENT-REQUIRED']",
    header: requiredHeader,
    notes: [
      ...v2Notes.required(requiredHeader),
      `response headers: ${JSON.stringify(unpaid.response.headers, (k, v) => (k === "PAYMENT-REQUIRED" ? "<header>" : v))}`,
      "route config: price '$0.01', no maxTimeoutSeconds (default 300), description 'Weather report', mimeType 'application/json'",
    ],
    value: paymentRequired,
  });

  const payload = paymentPayload.payload;
  const payloadNotes = [describeHeader(signatureHeader, safeBase64Decode(signatureHeader))];
  if (payload.authorization) {
    payloadNotes.push(
      describeEvmAuthorization(
        { ...payload.authorization, signature: payload.signature },
        paymentPayload.accepted.maxTimeoutSeconds,
      ),
    );
  } else {
    payloadNotes.push(...describeSolanaTransaction(payload.transaction).summary);
  }
  payloadNotes.push(
    `top-level keys in order: ${Object.keys(decodePaymentSignatureHeader(signatureHeader)).join(", ")}; 'accepted' is the 402's accepts[0] verbatim: ${JSON.stringify(paymentPayload.accepted) === JSON.stringify(paymentRequired.accepts[0])}`,
  );
  fixture(`v2/payment-signature.${net}`, {
    producedBy: `@x402/core@2.27.0 x402HTTPClient.getPaymentRequiredResponse() + createPaymentPayload() + encodePaymentSignatureHeader() over x402Client with ${
      net === "svm"
        ? "@x402/svm@2.27.0 exact/client ExactSvmScheme(signer, { rpcUrl })"
        : "@x402/evm@2.27.0 exact/client registerExactEvmScheme(client, { signer: viem privateKeyToAccount })"
    }; header = result['PAYMENT-SIGNATURE']`,
    header: signatureHeader,
    notes: payloadNotes,
    value: decodePaymentSignatureHeader(signatureHeader),
  });

  if (net === "base") continue;

  assert(verified.result.type === "payment-verified", `${net}: payment not verified`);
  const verifyExchange = only(verified.exchanges, "/verify");
  const settleExchange = only(settled.exchanges, "/settle");
  const requestNotes = (exchange) => {
    const body = JSON.parse(exchange.request);
    return [
      `POST ${exchange.path}, Content-Type: ${exchange.contentType}; body is compact JSON.stringify: ${exchange.request === JSON.stringify(body)}`,
      `top-level keys: ${Object.keys(body).join(", ")}; x402Version copied from paymentPayload.x402Version`,
      `paymentPayload is the decoded PAYMENT-SIGNATURE verbatim: ${JSON.stringify(body.paymentPayload) === JSON.stringify(decodePaymentSignatureHeader(signatureHeader))}; paymentRequirements is the server's own accepts[0] (the one matched against 'accepted'): ${JSON.stringify(body.paymentRequirements) === JSON.stringify(paymentRequired.accepts[0])}`,
    ];
  };
  fixture(`v2/verify-request.${net}`, {
    producedBy:
      "@x402/core@2.27.0 HTTPFacilitatorClient.verify() (called by x402ResourceServer.verifyPayment from x402HTTPResourceServer.processHTTPRequest); the JSON body it POSTed, captured by a loopback node:http server",
    notes: requestNotes(verifyExchange),
    value: JSON.parse(verifyExchange.request),
  });
  fixture(`v2/verify-response.${net}`, {
    producedBy: `@x402/core@2.27.0 x402Facilitator.verify() with the @x402/${net === "svm" ? "svm" : "evm"}@2.27.0 exact facilitator, as JSON.stringify'd by the loopback facilitator (HTTP ${verifyExchange.status})`,
    value: JSON.parse(verifyExchange.response),
  });
  fixture(`v2/settle-request.${net}`, {
    producedBy:
      "@x402/core@2.27.0 HTTPFacilitatorClient.settle() (called by x402ResourceServer.settlePayment from x402HTTPResourceServer.processSettlement); the JSON body it POSTed, captured by a loopback node:http server",
    notes: requestNotes(settleExchange),
    value: JSON.parse(settleExchange.request),
  });
  fixture(`v2/settle-response.${net}`, {
    producedBy: `@x402/core@2.27.0 x402Facilitator.settle() with the @x402/${net === "svm" ? "svm" : "evm"}@2.27.0 exact facilitator, as JSON.stringify'd by the loopback facilitator (HTTP ${settleExchange.status})`,
    value: JSON.parse(settleExchange.response),
  });
  const responseHeader = settled.result.headers["PAYMENT-RESPONSE"];
  assert(settled.result.success === true && typeof responseHeader === "string", `${net}: settlement failed`);
  fixture(`v2/payment-response.${net}`, {
    producedBy:
      "@x402/core@2.27.0 x402HTTPResourceServer.processSettlement() -> createSettlementHeaders -> encodePaymentResponseHeader; header = result.headers['PAYMENT-RESPONSE'] (sent with the handler's 200)",
    header: responseHeader,
    notes: [
      describeHeader(responseHeader, safeBase64Decode(responseHeader)),
      `key order ${Object.keys(decodePaymentResponseHeader(responseHeader)).join(", ")} vs the facilitator's ${Object.keys(JSON.parse(settleExchange.response)).join(", ")}: HTTPFacilitatorClient re-parses the answer with its internal zod settleResponseSchema (unknown keys dropped, schema key order), and the header encodes that object`,
    ],
    value: decodePaymentResponseHeader(responseHeader),
  });
}

// Settlement failure: the authorization is valid but the transferWithAuthorization transaction reverts.
{
  const { verified } = await v2Flow("evm-reverted", "/v2/evm/weather", payerClient, { expectSettle: false });
  assert(verified.result.type === "payment-verified", "reverted: payment not verified");
  evm.chain.mode = "revert";
  const context = verified.result;
  const settled = await capture(() =>
    httpServer.processSettlement(
      context.paymentPayload,
      context.paymentRequirements,
      context.declaredExtensions,
      {
        request: { adapter: adapter("/v2/evm/weather"), path: "/v2/evm/weather", method: "GET" },
      },
    ),
  );
  evm.chain.mode = "ok";
  const settleExchange = only(settled.exchanges, "/settle");
  fixture("v2/settle-response.failure", {
    producedBy: `@x402/core@2.27.0 x402Facilitator.settle() with the @x402/evm@2.27.0 exact facilitator when the transaction's receipt has status 'reverted' (HTTP ${settleExchange.status})`,
    value: JSON.parse(settleExchange.response),
  });
  const failure = settled.result;
  assert(failure.success === false, "reverted: settlement did not fail");
  const header = failure.headers["PAYMENT-RESPONSE"];
  fixture("v2/payment-response.failure", {
    producedBy:
      "@x402/core@2.27.0 x402HTTPResourceServer.processSettlement() on a failed settlement -> createSettlementHeaders -> encodePaymentResponseHeader; header = result.headers['PAYMENT-RESPONSE']",
    header,
    notes: [
      describeHeader(header, safeBase64Decode(header)),
      `the HTTP answer replaces the handler's: status ${failure.response.status}, headers ${JSON.stringify(failure.response.headers, (k, v) => (k === "PAYMENT-RESPONSE" ? "<header>" : v))}, body ${JSON.stringify(failure.response.body)}`,
      `the result object also carries errorMessage '${failure.errorMessage}', which is NOT in the header (the header encodes the facilitator's SettleResponse as is)`,
    ],
    value: decodePaymentResponseHeader(header),
  });
}

// Verification failure: a payer without funds; the 402 carries the facilitator's invalidReason in `error`.
{
  const { verified } = await v2Flow("evm-unfunded", "/v2/evm/weather", unfundedClient);
  assert(verified.result.type === "payment-error", "unfunded: expected a payment error");
  const verifyExchange = only(verified.exchanges, "/verify");
  fixture("v2/verify-response.invalid", {
    producedBy: `@x402/core@2.27.0 x402Facilitator.verify() with the @x402/evm@2.27.0 exact facilitator for a payer holding 0 USDC (simulation reverts, then its Multicall3 diagnosis) (HTTP ${verifyExchange.status})`,
    value: JSON.parse(verifyExchange.response),
  });
  const header = verified.result.response.headers["PAYMENT-REQUIRED"];
  fixture("v2/payment-required.verify-failed", {
    producedBy:
      "@x402/core@2.27.0 x402HTTPResourceServer.processHTTPRequest() when the facilitator answers isValid: false; header = response.headers['PAYMENT-REQUIRED']",
    header,
    notes: [
      describeHeader(header, safeBase64Decode(header)),
      `status ${verified.result.response.status}, body ${JSON.stringify(verified.result.response.body)}; 'error' is the facilitator's invalidReason`,
    ],
    value: decodePaymentRequiredHeader(header),
  });
}

// ---------------------------------------------------------------------------------------------------------------
// v1 samples: x402-express 1.2.0 on a loopback express server, paid by x402 1.2.0's client functions.

const app = express();
app.set("trust proxy", "loopback");
const v1Route = (network) => ({
  price: "$0.01",
  network,
  config: { description: "Weather report", mimeType: "application/json" },
});
app.use(
  paymentMiddleware(
    evmPayee.address,
    { "GET /v1/evm/weather": v1Route("base-sepolia"), "GET /v1/base/weather": v1Route("base") },
    { url: fac.url },
  ),
);
app.use(
  paymentMiddleware(svmPayee.address, { "GET /v1/svm/weather": v1Route("solana-devnet") }, { url: fac.url }),
);
app.get("/v1/:net/weather", (_req, res) => {
  res.json({ weather: "sunny", temperature: 21 });
});
const appServer = http.createServer(app);
const appUrl = await listen(appServer);

const evmV1Signer = await createSigner("base-sepolia", evmPayerKey);
const baseV1Signer = await createSigner("base", evmPayerKey);
const unfundedV1Signer = await createSigner("base-sepolia", evmUnfundedKey);

const bodies = {};
for (const net of ["evm", "base", "svm"]) {
  const res = await get(appUrl, `/v1/${net}/weather`);
  assert(res.status === 402, `v1 ${net}: expected 402, got ${res.status}`);
  bodies[net] = JSON.parse(res.text);
  fixture(`v1/payment-required.body.${net}`, {
    producedBy:
      "x402-express@1.2.0 paymentMiddleware(payTo, routes, { url: facilitator }) on express 5.3.0: the JSON body of its 402 for a request without X-PAYMENT (price '$0.01'; the Solana route asked GET /supported for extra.feePayer)",
    notes: [
      `status ${res.status}, content-type ${res.headers["content-type"]}, no x402 header on the response`,
      "resource is req.protocol + '://' + req.headers.host + req.path: the request came through a proxy (Host: api.example.com, X-Forwarded-Proto: https, trust proxy)",
      "the route config sets no maxTimeoutSeconds (the middleware defaults to 60) and no input/output schema, yet every entry carries outputSchema { input: { type: 'http', method, discoverable: true } } (output: undefined, dropped by JSON)",
    ],
    value: bodies[net],
  });
}

async function payV1(net, header, { files = true, producedBy } = {}) {
  const paid = await capture(() => get(appUrl, `/v1/${net}/weather`, { "x-payment": header }));
  const res = paid.result;
  if (!files) return { res, exchanges: paid.exchanges };
  assert(res.status === 200, `v1 ${net}: expected 200, got ${res.status} ${res.text}`);
  const verifyExchange = only(paid.exchanges, "/verify");
  const settleExchange = only(paid.exchanges, "/settle");
  const requestNotes = (exchange) => {
    const body = JSON.parse(exchange.request);
    return [
      `POST ${exchange.path}, Content-Type: ${exchange.contentType}; top-level keys: ${Object.keys(body).join(", ")}`,
      "paymentPayload is the X-PAYMENT after x402's PaymentPayloadSchema.parse in exact.evm.decodePayment (unknown keys stripped, schema key order) with x402Version set to 1",
      `paymentRequirements is the 402's accepts[0] verbatim: ${JSON.stringify(body.paymentRequirements) === JSON.stringify(bodies[net].accepts[0])}`,
    ];
  };
  fixture(`v1/verify-request.${net}`, {
    producedBy: `x402@1.2.0 x402/verify useFacilitator({ url }).verify() as called by x402-express@1.2.0 (${producedBy}); the JSON body it POSTed, captured by a loopback node:http server`,
    notes: requestNotes(verifyExchange),
    value: JSON.parse(verifyExchange.request),
  });
  fixture(`v1/verify-response.${net}`, {
    producedBy: `@x402/core@2.27.0 x402Facilitator.verify() with the @x402/${net === "svm" ? "svm" : "evm"}@2.27.0 exact v1 facilitator (ExactSvmSchemeV1 / ExactEvmSchemeV1 from register*), as JSON.stringify'd (HTTP ${verifyExchange.status})`,
    value: JSON.parse(verifyExchange.response),
  });
  fixture(`v1/settle-request.${net}`, {
    producedBy: `x402@1.2.0 x402/verify useFacilitator({ url }).settle() as called by x402-express@1.2.0 (${producedBy}); the JSON body it POSTed, captured by a loopback node:http server`,
    notes: requestNotes(settleExchange),
    value: JSON.parse(settleExchange.request),
  });
  fixture(`v1/settle-response.${net}`, {
    producedBy: `@x402/core@2.27.0 x402Facilitator.settle() with the @x402/${net === "svm" ? "svm" : "evm"}@2.27.0 exact v1 facilitator, as JSON.stringify'd (HTTP ${settleExchange.status})`,
    value: JSON.parse(settleExchange.response),
  });
  const receipt = res.headers["x-payment-response"];
  assert(typeof receipt === "string", `v1 ${net}: no X-PAYMENT-RESPONSE`);
  fixture(`v1/x-payment-response.${net}`, {
    producedBy:
      "x402-express@1.2.0 after a successful settle: res.setHeader('X-PAYMENT-RESPONSE', settleResponseHeader(settleResponse)) (x402/types settleResponseHeader = safeBase64Encode(JSON.stringify(facilitator answer)))",
    header: receipt,
    notes: [
      describeHeader(receipt, safeBase64Decode(receipt)),
      `on the 200 response with the handler's body ${res.text}; access-control-expose-headers: ${res.headers["access-control-expose-headers"] ?? "(none)"}`,
    ],
    value: decodeXPaymentResponse(receipt),
  });
  return { res, exchanges: paid.exchanges };
}

const svmConfig = { svmConfig: { rpcUrl: rpc.url } };
const v1Payments = {};
{
  reseed("v1/evm");
  const requirements = bodies.evm.accepts[0];
  const header = await createPaymentHeader(evmV1Signer, 1, requirements);
  v1Payments.evm = header;
  const decoded = JSON.parse(safeBase64Decode(header));
  fixture("v1/x-payment.evm", {
    producedBy:
      "x402@1.2.0 x402/client createPaymentHeader(createSigner('base-sepolia', key), 1, body.accepts[0]) (preparePaymentHeader + signPaymentHeader + encodePayment inside)",
    header,
    notes: [
      describeHeader(header, safeBase64Decode(header)),
      describeEvmAuthorization(
        { ...decoded.payload.authorization, signature: decoded.payload.signature },
        60,
      ),
      `key order: ${Object.keys(decoded).join(", ")}; payload keys: ${Object.keys(decoded.payload).join(", ")}`,
    ],
    value: decoded,
  });
  await payV1("evm", header, { producedBy: "payment from x402/client createPaymentHeader" });
}
{
  reseed("v1/base");
  const requirements = bodies.base.accepts[0];
  const unsigned = preparePaymentHeader(evmPayer.address, 1, requirements);
  const header = await signPaymentHeader(baseV1Signer, requirements, unsigned);
  const decoded = JSON.parse(safeBase64Decode(header));
  fixture("v1/x-payment.base", {
    producedBy:
      "x402@1.2.0 x402/client preparePaymentHeader(address, 1, body.accepts[0]) then signPaymentHeader(createSigner('base', key), requirements, unsigned) (returns the encodePayment string)",
    header,
    notes: [
      describeHeader(header, safeBase64Decode(header)),
      describeEvmAuthorization(
        { ...decoded.payload.authorization, signature: decoded.payload.signature },
        60,
      ),
      `key order: ${Object.keys(decoded).join(", ")}; payload keys: ${Object.keys(decoded.payload).join(", ")} (preparePaymentHeader puts signature: undefined first)`,
    ],
    value: decoded,
  });
  const paid = await payV1("base", header, { files: false });
  assert(paid.res.status === 200, `v1 base: expected 200, got ${paid.res.status} ${paid.res.text}`);
}
{
  reseed("v1/svm");
  const requirements = bodies.svm.accepts[0];
  const header = await createPaymentHeader(svmPayer, 1, requirements, svmConfig);
  const decoded = JSON.parse(safeBase64Decode(header));
  fixture("v1/x-payment.svm", {
    producedBy:
      "x402@1.2.0 x402/client createPaymentHeader(createSigner('solana-devnet', base58 seed), 1, body.accepts[0], { svmConfig: { rpcUrl } })",
    header,
    notes: [
      describeHeader(header, safeBase64Decode(header)),
      ...describeSolanaTransaction(decoded.payload.transaction).summary,
      "the compute unit limit is the unitsConsumed of a simulateTransaction call (estimateComputeUnitLimitFactory); the RPC stand-in answered 6500 for SetComputeUnitPrice + TransferChecked with a provisional limit",
      `key order: ${Object.keys(decoded).join(", ")}`,
    ],
    value: decoded,
  });
  await payV1("svm", header, { producedBy: "payment from x402/client createPaymentHeader" });
}

// The same v1 offers paid by @x402/core's client with the v1 classes of @x402/evm and @x402/svm.
for (const net of ["evm", "svm"]) {
  reseed(`v1/${net}/x402-core`);
  const body = bodies[net];
  const paymentRequired = payerClient.getPaymentRequiredResponse(() => undefined, body);
  const payload = await payerClient.createPaymentPayload(paymentRequired);
  const headers = payerClient.encodePaymentSignatureHeader(payload);
  const header = headers["X-PAYMENT"];
  assert(typeof header === "string", `v1 ${net} x402-core: no X-PAYMENT`);
  const decoded = JSON.parse(safeBase64Decode(header));
  const paid = await payV1(net, header, { files: false });
  const notes = [describeHeader(header, safeBase64Decode(header))];
  if (net === "evm") {
    notes.push(
      describeEvmAuthorization(
        { ...decoded.payload.authorization, signature: decoded.payload.signature },
        60,
      ),
    );
  } else {
    notes.push(...describeSolanaTransaction(decoded.payload.transaction).summary);
    // What the legacy x402 1.2.0 facilitator (x402/facilitator verify) says about this 4-instruction transaction.
    const legacy = await legacyVerify(svmFeePayer, decoded, body.accepts[0], svmConfig).catch((error) => ({
      thrown: error instanceof Error ? error.message : String(error),
    }));
    notes.push(`x402@1.2.0 x402/facilitator verify() answers ${JSON.stringify(legacy)}`);
  }
  notes.push(
    `sent to x402-express 1.2.0 (facilitator: @x402/core x402Facilitator): HTTP ${paid.res.status}`,
    `key order: ${Object.keys(decoded).join(", ")}`,
  );
  fixture(`v1/x-payment.${net}.x402-core`, {
    producedBy: `@x402/core@2.27.0 x402HTTPClient.getPaymentRequiredResponse(getHeader, v1 body) + createPaymentPayload() + encodePaymentSignatureHeader() with ${
      net === "evm"
        ? "@x402/evm@2.27.0 ExactEvmSchemeV1 (registered by registerExactEvmScheme)"
        : "@x402/svm@2.27.0 v1 ExactSvmSchemeV1(signer, { rpcUrl })"
    }; header = result['X-PAYMENT']`,
    header,
    notes,
    value: decoded,
  });
}

// v1 verification failure: x402-express puts the facilitator's invalidReason in `error`, plus `payer`.
{
  reseed("v1/evm-unfunded");
  const header = await createPaymentHeader(unfundedV1Signer, 1, bodies.evm.accepts[0]);
  const { res, exchanges } = await payV1("evm", header, { files: false });
  assert(res.status === 402, `v1 unfunded: expected 402, got ${res.status}`);
  const verifyExchange = only(exchanges, "/verify");
  fixture("v1/verify-response.invalid", {
    producedBy: `@x402/core@2.27.0 x402Facilitator.verify() with the @x402/evm@2.27.0 exact v1 facilitator (ExactEvmSchemeV1) for a payer holding 0 USDC (HTTP ${verifyExchange.status})`,
    notes: ["the reason is @x402/evm's name, which x402@1.2.0's ErrorReasons enum does not list"],
    value: JSON.parse(verifyExchange.response),
  });
  fixture("v1/payment-required.body.verify-failed", {
    producedBy:
      "x402-express@1.2.0 paymentMiddleware: the 402 JSON body when the facilitator's /verify answers isValid: false (payer holding 0 USDC)",
    notes: [
      `status ${res.status}; facilitator /verify answered ${verifyExchange.response}`,
      "error is the facilitator's invalidReason verbatim; the body adds payer",
    ],
    value: JSON.parse(res.text),
  });
}

// v1 settlement failure: x402-express drops the handler's answer and puts the facilitator's errorReason in `error`.
{
  reseed("v1/evm-reverted");
  const header = await createPaymentHeader(evmV1Signer, 1, bodies.evm.accepts[0]);
  evm.chain.mode = "revert";
  const { res, exchanges } = await payV1("evm", header, { files: false });
  evm.chain.mode = "ok";
  assert(res.status === 402, `v1 reverted: expected 402, got ${res.status}`);
  const settleExchange = only(exchanges, "/settle");
  fixture("v1/settle-response.failure", {
    producedBy: `@x402/core@2.27.0 x402Facilitator.settle() with the @x402/evm@2.27.0 exact v1 facilitator (ExactEvmSchemeV1) when the receipt has status 'reverted' (HTTP ${settleExchange.status})`,
    notes: ["the reason is @x402/evm's name, which x402@1.2.0's ErrorReasons enum does not list"],
    value: JSON.parse(settleExchange.response),
  });
  fixture("v1/payment-required.body.settle-failed", {
    producedBy:
      "x402-express@1.2.0 paymentMiddleware: the 402 JSON body when the facilitator's /settle answers success: false (transferWithAuthorization reverted)",
    notes: [
      `status ${res.status}, x-payment-response header present: ${"x-payment-response" in res.headers}; facilitator /settle answered ${settleExchange.response}`,
      "error is the facilitator's errorReason verbatim; no payer, no receipt header: the client cannot see the transaction hash",
    ],
    value: JSON.parse(res.text),
  });
}

// v1 malformed X-PAYMENT: `error` is the decoder's exception message.
{
  const consoleError = console.error;
  console.error = () => {}; // x402-express logs the decode error it is about to return
  const { res } = await payV1("evm", "bm90LWpzb24=", { files: false });
  console.error = consoleError;
  assert(res.status === 402, `v1 malformed: expected 402, got ${res.status}`);
  fixture("v1/payment-required.body.malformed", {
    producedBy:
      "x402-express@1.2.0 paymentMiddleware: the 402 JSON body for X-PAYMENT 'bm90LWpzb24=' (base64 of 'not-json'): exact.evm.decodePayment throws and its message becomes `error`",
    notes: [`status ${res.status}`],
    value: JSON.parse(res.text),
  });
}

fixture("meta", {
  producedBy: "packages/shared/scripts/golden.mjs: the fixed inputs behind every fixture",
  value: {
    nowMs: NOW_MS,
    now: NOW,
    randomness: "crypto.getRandomValues = sha256('tollgate/golden/random/<sample>/<counter>') stream",
    keys: {
      evm: "privateKey = keccak256('tollgate/testing/evm/' + label) (as @tollgate/testing deriveEvmTestPrivateKey)",
      svm: "ed25519 seed = sha256('tollgate/testing/svm/' + label) (as @tollgate/testing deriveSvmTestKeypair)",
    },
    evm: {
      payer: { label: "golden/payer", address: evmPayer.address },
      unfundedPayer: { label: "golden/payer-unfunded", address: evmUnfunded.address },
      payee: { label: "golden/payee", address: evmPayee.address },
      facilitator: { label: "golden/facilitator", address: evmFacilitator.address },
      assets: USDC,
    },
    svm: {
      payer: { label: "golden/payer", address: svmPayer.address },
      payee: { label: "golden/payee", address: svmPayee.address },
      feePayer: { label: "golden/facilitator", address: svmFeePayer.address },
      mint: USDC_DEVNET_MINT,
      mintAuthority: { label: "golden/mint-authority", address: svmMintAuthority.address },
      recentBlockhash: BLOCKHASH,
      lastValidBlockHeight: LAST_VALID_BLOCK_HEIGHT,
    },
    publicOrigin: PUBLIC_ORIGIN,
    solanaRpcMethodsCalled: [...new Set(rpc.calls)].sort(),
  },
});

appServer.close();
fac.close();
rpc.close();
console.log(`golden: wrote ${written.length} fixtures to ${FIXTURES}`);
for (const name of written.sort()) console.log(`  ${name}`);
