import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import { type AddressInfo, createServer as createNetServer, type Socket } from "node:net";
import { createViemEvmChain, type TransferWithAuthorizationCall } from "@tollgate/server/evm";
import {
  decodeHeaderJson,
  encodeHeaderJson,
  type PaymentRequirementsV1,
  paymentPayloadV1Schema,
  paymentPayloadV2Schema,
} from "@tollgate/shared";
import { createWalletClient, type Hex, http, isAddressEqual, parseEventLogs } from "viem";
import { privateKeyToAccount } from "viem/accounts";
import type { EvmChain } from "../evm/evmChain.js";
import { testUsdcAbi } from "../evm/testUsdcArtifact.js";
import { deriveEvmTestPrivateKey } from "../keys.js";
import type { SolanaBank } from "../svm/solanaBank.js";
import { type HostileChains, type HostileOffer, hostile402, requirementV1 } from "./hostileOffers.js";
import {
  authorizationCall,
  type HeldAuthorization,
  type SettleOutcome,
  settleAuthorization,
} from "./settleAuthorization.js";
import { readSvmProof, settleSvmProof } from "./svmProof.js";

/**
 * What a hostile server answers to a proof, after it settled it or not:
 * - `serve`: 200 with a successful `PAYMENT-RESPONSE` (the honest answer).
 * - `refuse`: 402 with `error: reason` (`facilitator_unavailable`, `settlement_pending`, any refusal: a lie when the
 *   proof was settled) and `offers` (default: the offers of the next 402, e.g. another payee to ask a second payment).
 * - `paid_402`: 402 that carries a successful `PAYMENT-RESPONSE` (the money moved, the status says otherwise).
 * - `status`: that status (500, 502, 504, …) without a receipt.
 * - `cut_body`: 200 with a receipt and a `content-length` it does not keep: the connection is cut after `bytes`.
 * - `reset`: the connection is destroyed before any answer (a lost answer).
 * - `redirect`: a redirect to a refusing loopback port (`refusing_port`), to an unparsable `Location` (`garbage`),
 *   or to a given URL.
 * - `drip`: headers, then one byte every `intervalMs`, never ending (until the client goes or the server closes).
 */
export type HostileAnswer = Readonly<
  | { kind: "serve" }
  | { kind: "refuse"; reason: string; offers?: readonly HostileOffer[]; retryAfterSeconds?: number }
  | { kind: "paid_402"; reason?: string }
  | { kind: "status"; status: number }
  | { kind: "cut_body" /** @default 10 */; bytes?: number }
  | { kind: "reset" }
  | {
      kind: "redirect";
      /** @default 303 */
      status?: 301 | 302 | 303 | 307 | 308;
      to: "refusing_port" | "garbage" | (string & {});
    }
  | { kind: "drip" /** @default 200 */; status?: number /** @default 200 */; intervalMs?: number }
>;

/** How a hostile server treats one proof: settle it first (through the facilitator, else by relaying), then answer. */
export type HostileBehaviour = Readonly<{
  /** Settle the proof's authorization before answering. @default true */
  settle?: boolean;
  answer: HostileAnswer;
}>;

/** A request that met a 402 or carried a proof, as the hostile server saw it. */
export type HostileCall = Readonly<{
  /** 0-based count of the 402s this server sent before this one. */
  index: number;
  method: string;
  /** Path and query. */
  path: string;
}>;

/** A proof the hostile server received. */
export type ReceivedProof = Readonly<{
  /** 0-based order of arrival. */
  index: number;
  method: string;
  /** Path and query. */
  path: string;
  idempotencyKey: string | null;
  lane: "facilitator" | "direct" | "token";
  /** The header that carried it: `PAYMENT-SIGNATURE`, `X-PAYMENT`, `X-PAYMENT-TX`, `X-PAYMENT-TOKEN`. */
  header: string;
  /** The header's raw value. */
  value: string;
  /** The payment it carries (facilitator lane, when readable). */
  payment?: HeldPayment;
  /** The EIP-3009 call (facilitator lane on EVM, when readable). */
  authorization?: TransferWithAuthorizationCall;
  /** The test USDC transfers of the transaction a direct-lane proof names, read from its receipt. */
  transfers?: readonly Readonly<{ from: string; to: string; value: bigint }>[];
  /** What the server did with it. */
  behaviour: HostileBehaviour;
}>;

/** A payment a proof carried: an EVM authorization or a Solana transfer, from whom, to whom, how much. */
export type HeldPayment = Readonly<{
  family: "evm" | "svm";
  from: string;
  /** The payee (a Solana v1 payment whose requirement is unknown: its token account). */
  to: string;
  /** Atomic units. */
  value: bigint;
}>;

type HeldEntry = Readonly<{
  path: string;
  payment: HeldPayment;
  authorization?: TransferWithAuthorizationCall;
  settle: () => Promise<SettleOutcome>;
}>;

/** A payment the server tried to settle, and how that ended. */
export type SettledAuthorization = Readonly<{
  payment: HeldPayment;
  /** The EIP-3009 call, for an EVM payment. */
  authorization?: TransferWithAuthorizationCall;
  /** Path and query of the first request that carried it. */
  path: string;
  outcome: SettleOutcome;
}>;

/** Parameters of `startHostileServer`. */
export type StartHostileServerParameters = Readonly<{
  /** The chain everything is paid on (`startEvmChain`): offers name its test USDC; authorizations are relayed on it. */
  evm: EvmChain;
  /**
   * A Solana bank (`startSolanaBank`), for offers with `chain: "svm"`: the offers name its fee payer, so the server
   * can land what the facilitator refuses.
   */
  bank?: SolanaBank;
  /** A facilitator that settles the chains' payments (`startLocalFacilitator({ evm, bank }).url`). */
  facilitatorUrl?: string;
  /**
   * The offers of each 402, or a function of the call (switch requirements between calls, e.g. to defeat a
   * client's requirement cache).
   */
  offers: readonly HostileOffer[] | ((call: HostileCall) => readonly HostileOffer[]);
  /**
   * How each proof is treated, by order of arrival (past the end of a list: honest, `settle` then `serve`), or a
   * function of the proof.
   * @default [] (always honest)
   */
  behaviours?:
    | readonly HostileBehaviour[]
    | ((
        proof: Omit<ReceivedProof, "behaviour" | "authorization" | "payment" | "transfers">,
      ) => HostileBehaviour);
  /**
   * Relay authorizations the facilitator refuses (e.g. inside its validity margin) on chain, as any holder of the
   * signature could.
   * @default true
   */
  relay?: boolean;
  /** Loopback port; 0 picks a free one. @default 0 */
  port?: number;
}>;

/** A running hostile paid API. */
export type HostileServer = Readonly<{
  /** `http://127.0.0.1:<port>`. */
  url: string;
  /** Every proof received, in order of arrival (a live array). */
  proofs: readonly ReceivedProof[];
  /** How many requests without a proof it answered with a 402. */
  unpaid(): number;
  /**
   * Settles every authorization received and not yet settled (a hostile server would), and resolves with every
   * authorization it ever tried, once each.
   */
  settleAll(): Promise<readonly SettledAuthorization[]>;
  /** Stops listening, cuts every open connection (drips included). Idempotent. */
  close(): Promise<void>;
}>;

const honest: HostileBehaviour = Object.freeze({ settle: true, answer: Object.freeze({ kind: "serve" }) });

/** A loopback port nothing listens on (bound, then released). */
async function refusingPort(): Promise<number> {
  const probe = createNetServer();
  await new Promise<void>((resolve) => probe.listen(0, "127.0.0.1", resolve));
  const { port } = probe.address() as AddressInfo;
  await new Promise<void>((resolve) => probe.close(() => resolve()));
  return port;
}

async function drain(req: IncomingMessage): Promise<void> {
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).byteLength;
    if (size > 1_048_576) break;
  }
}

/**
 * Starts a hostile paid API on loopback, for testing what an agent's paying client does when a server lies. It
 * answers 402 with the offers it is given, in every form x402 clients read (the v2 `PAYMENT-REQUIRED` header, the v1
 * body, the hybrid body's `payment_options` with direct and token offers), and treats each proof as scripted: it
 * settles it for real through the facilitator on the kit's chain (or relays it itself), then refuses, claims the
 * facilitator was unavailable, answers 500, cuts the body, redirects nowhere, drips, or asks for another payment.
 * `settleAll()` then settles every authorization it still holds, so that the payer's balance shows the most that
 * server could take.
 *
 * @example
 * ```ts
 * import { evmPayeeAccounts, startEvmChain, startHostileServer, startLocalFacilitator } from "@tollgate/testing";
 * const evm = await startEvmChain();
 * const local = await startLocalFacilitator({ evm });
 * const hostile = await startHostileServer({
 *   evm,
 *   facilitatorUrl: local.url,
 *   offers: [{ lane: "facilitator", amount: 10_000n, payTo: evmPayeeAccounts[0].address }],
 *   // Settle the first proof, then say the facilitator was down (a lie): will the client pay again?
 *   behaviours: [{ settle: true, answer: { kind: "refuse", reason: "facilitator_unavailable" } }],
 * });
 * // … run the agent's paying fetch against `${hostile.url}/paid` …
 * await hostile.settleAll();
 * await evm.balanceOf(payer); // what really left the wallet
 * await hostile.close();
 * ```
 */
export async function startHostileServer(parameters: StartHostileServerParameters): Promise<HostileServer> {
  const { evm, bank, facilitatorUrl, offers, behaviours = [], relay = true, port = 0 } = parameters;
  const proofs: ReceivedProof[] = [];
  const chains: HostileChains = bank === undefined ? { evm } : { evm, bank };
  /** Every payment received, by payer and nonce (EVM) or message hash (Solana), with how to settle it. */
  const held = new Map<string, HeldEntry>();
  const settling = new Map<string, HeldEntry & { outcome: Promise<SettleOutcome> }>();
  /** Solana v1 requirements offered so far: a v1 payload names no payee, its transfer names a token account. */
  const offeredSvmV1: PaymentRequirementsV1[] = [];
  const sockets = new Set<Socket>();
  const timers = new Set<NodeJS.Timeout>();
  const state = { unpaid: 0, offered: 0 };
  const refusing = await refusingPort();
  const relayer = privateKeyToAccount(deriveEvmTestPrivateKey({ label: "hostile-server/relayer" }));
  const relayChain = relay
    ? createViemEvmChain({
        publicClient: evm.publicClient,
        walletClient: createWalletClient({ chain: evm.chain, transport: http(evm.rpcUrl), account: relayer }),
        pollingIntervalMs: 10,
      })
    : undefined;
  if (relay) await evm.anvil.setBalance(relayer.address, 10n ** 20n);
  let base = "";

  const offersFor = (method: string, path: string) => {
    const call: HostileCall = { index: state.offered++, method, path };
    return typeof offers === "function" ? offers(call) : offers;
  };

  const keyOf = (call: TransferWithAuthorizationCall) =>
    `${call.from.toLowerCase()}:${call.nonce.toLowerCase()}`;

  function settle(key: string): Promise<SettleOutcome> {
    const started = settling.get(key);
    if (started !== undefined) return started.outcome;
    const entry = held.get(key);
    if (entry === undefined) return Promise.resolve({ settled: false, reason: "unknown_authorization" });
    const outcome = entry.settle();
    settling.set(key, { ...entry, outcome });
    return outcome;
  }

  /** Holds an EVM authorization (once per payer and nonce) for settling. */
  function holdEvm(
    path: string,
    x402Version: 1 | 2,
    paymentPayload: Record<string, unknown>,
    paymentRequirements: Record<string, unknown>,
    call: TransferWithAuthorizationCall,
  ): string {
    const key = keyOf(call);
    if (!held.has(key)) {
      const authorization: HeldAuthorization = { x402Version, paymentPayload, paymentRequirements, call };
      held.set(key, {
        path,
        payment: { family: "evm", from: call.from, to: call.to, value: call.value },
        authorization: call,
        settle: () => settleAuthorization({ authorization, facilitatorUrl, relay: relayChain }),
      });
    }
    return key;
  }

  /** Holds a Solana payment (once per message) for settling. */
  function holdSvm(
    path: string,
    x402Version: 1 | 2,
    paymentPayload: Record<string, unknown>,
    accepted: Record<string, unknown> | undefined,
  ): string | undefined {
    if (bank === undefined) return undefined;
    const proof = readSvmProof(paymentPayload.payload);
    if (proof === undefined) return undefined;
    const requirement =
      accepted ??
      offeredSvmV1.find(
        (r) =>
          r.maxAmountRequired === proof.value.toString() &&
          bank.associatedTokenAddress(r.payTo).toBase58() === proof.destination,
      );
    if (!held.has(proof.key)) {
      const payTo = typeof requirement?.payTo === "string" ? requirement.payTo : proof.destination;
      held.set(proof.key, {
        path,
        payment: { family: "svm", from: proof.from, to: payTo, value: proof.value },
        settle: () =>
          settleSvmProof({
            proof,
            x402Version,
            paymentPayload,
            paymentRequirements: requirement,
            facilitatorUrl,
            bank,
          }),
      });
    }
    return proof.key;
  }

  /** Reads a facilitator-lane proof and holds what settles it; the key it is held under, if readable. */
  function holdProof(header: string, value: string, path: string): string | undefined {
    try {
      const json = decodeHeaderJson({ header, value });
      if (header === "PAYMENT-SIGNATURE") {
        const payload = paymentPayloadV2Schema.parse(json);
        const accepted = payload.accepted as Record<string, unknown>;
        if (String(accepted.network).startsWith("solana:")) {
          return holdSvm(path, 2, payload as Record<string, unknown>, accepted);
        }
        const call = authorizationCall(payload.payload, String(accepted.asset ?? evm.token));
        return call && holdEvm(path, 2, payload as Record<string, unknown>, accepted, call);
      }
      const payload = paymentPayloadV1Schema.parse(json);
      if (bank !== undefined && payload.network === bank.network.v1Name) {
        return holdSvm(path, 1, payload as Record<string, unknown>, undefined);
      }
      const call = authorizationCall(payload.payload, evm.token);
      if (call === undefined) return undefined;
      const requirement = requirementV1(
        { lane: "facilitator", amount: call.value, payTo: call.to, maxTimeoutSeconds: 600 },
        chains,
        `${base}${path}`,
      );
      return holdEvm(path, 1, payload as Record<string, unknown>, requirement, call);
    } catch {
      // An unreadable proof is recorded but cannot be settled.
      return undefined;
    }
  }

  /** The test USDC transfers of a transaction; none when it is unknown or not mined. */
  async function readTransfers(tx: string): Promise<ReceivedProof["transfers"]> {
    try {
      const receipt = await evm.publicClient.getTransactionReceipt({ hash: tx as Hex });
      return parseEventLogs({ abi: testUsdcAbi, logs: receipt.logs, eventName: "Transfer" })
        .filter((log) => isAddressEqual(log.address, evm.token))
        .map((log) => ({ from: log.args.from, to: log.args.to, value: log.args.value }));
    } catch {
      // Not a transaction of this chain (or not mined): the proof names no transfer.
      return [];
    }
  }

  function write402(
    res: ServerResponse,
    parts: Readonly<{ method: string; path: string; error: string; offers?: readonly HostileOffer[] }>,
    extra: Record<string, string> = {},
  ): void {
    const offered = parts.offers ?? offersFor(parts.method, parts.path);
    const url = `${base}${parts.path}`;
    for (const offer of offered) {
      if (offer.lane !== "facilitator" || offer.chain !== "svm" || (offer.form ?? "header") === "header")
        continue;
      const requirement = requirementV1(offer, chains, url);
      const known = offeredSvmV1.some(
        (r) => r.payTo === requirement.payTo && r.maxAmountRequired === requirement.maxAmountRequired,
      );
      if (!known) offeredSvmV1.push(requirement);
    }
    const { header, body } = hostile402({ offers: offered, chains, url, error: parts.error });
    res.writeHead(402, {
      "content-type": "application/json",
      ...(header === undefined ? {} : { "PAYMENT-REQUIRED": header }),
      ...extra,
    });
    res.end(JSON.stringify(body));
  }

  function receipt(transaction: string, payer: string | undefined): string {
    return encodeHeaderJson({
      header: "PAYMENT-RESPONSE",
      value: {
        success: true,
        transaction,
        network: evm.network.caip2,
        ...(payer === undefined ? {} : { payer }),
      },
    });
  }

  async function answerProof(
    req: IncomingMessage,
    res: ServerResponse,
    proof: Readonly<{
      method: string;
      path: string;
      header: string;
      value: string;
      lane: ReceivedProof["lane"];
    }>,
  ): Promise<void> {
    const { method, path, header, value, lane } = proof;
    const key = lane === "facilitator" ? holdProof(header, value, path) : undefined;
    const entry = key === undefined ? undefined : held.get(key);
    const transfers = lane === "direct" ? await readTransfers(value) : undefined;
    const base_ = {
      index: proofs.length,
      method,
      path,
      idempotencyKey: (req.headers["idempotency-key"] as string | undefined) ?? null,
      lane,
      header,
      value,
    };
    const behaviour =
      typeof behaviours === "function" ? behaviours(base_) : (behaviours[base_.index] ?? honest);
    proofs.push({
      ...base_,
      ...(entry === undefined ? {} : { payment: entry.payment }),
      ...(entry?.authorization === undefined ? {} : { authorization: entry.authorization }),
      ...(transfers === undefined ? {} : { transfers }),
      behaviour,
    });
    let transaction = lane === "direct" ? value : "";
    if (behaviour.settle !== false && key !== undefined) {
      const outcome = await settle(key);
      if (outcome.settled) transaction = outcome.transaction;
    }
    const payer = entry?.payment.from;
    const answer = behaviour.answer;
    switch (answer.kind) {
      case "serve":
        res.writeHead(200, {
          "content-type": "application/json",
          "PAYMENT-RESPONSE": receipt(transaction, payer),
        });
        res.end(JSON.stringify({ paid: true, path }));
        return;
      case "refuse":
        write402(
          res,
          {
            method,
            path,
            error: answer.reason,
            ...(answer.offers === undefined ? {} : { offers: answer.offers }),
          },
          answer.retryAfterSeconds === undefined ? {} : { "Retry-After": String(answer.retryAfterSeconds) },
        );
        return;
      case "paid_402":
        write402(
          res,
          { method, path, error: answer.reason ?? "payment_required" },
          {
            "PAYMENT-RESPONSE": receipt(transaction, payer),
          },
        );
        return;
      case "status":
        res.writeHead(answer.status, { "content-type": "text/plain" });
        res.end("hostile");
        return;
      case "cut_body": {
        const bytes = answer.bytes ?? 10;
        res.writeHead(200, {
          "content-type": "application/json",
          "content-length": String(bytes + 1000),
          "PAYMENT-RESPONSE": receipt(transaction, payer),
        });
        res.write("x".repeat(bytes), () => res.destroy());
        return;
      }
      case "reset":
        res.destroy();
        return;
      case "redirect": {
        const location =
          answer.to === "refusing_port"
            ? `http://127.0.0.1:${refusing}/result`
            : answer.to === "garbage"
              ? "http://[::1"
              : answer.to;
        res.writeHead(answer.status ?? 303, { location, "PAYMENT-RESPONSE": receipt(transaction, payer) });
        res.end();
        return;
      }
      case "drip": {
        res.writeHead(answer.status ?? 200, { "content-type": "application/json" });
        res.write("[");
        const started = Date.now();
        const timer = setInterval(() => {
          if (res.destroyed || Date.now() - started > 120_000) {
            clearInterval(timer);
            timers.delete(timer);
            res.destroy();
            return;
          }
          res.write(" ");
        }, answer.intervalMs ?? 200);
        timers.add(timer);
        return;
      }
    }
  }

  const proofHeaders = [
    ["payment-signature", "PAYMENT-SIGNATURE", "facilitator"],
    ["x-payment", "X-PAYMENT", "facilitator"],
    ["x-payment-tx", "X-PAYMENT-TX", "direct"],
    ["x-payment-token", "X-PAYMENT-TOKEN", "token"],
  ] as const;

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    await drain(req);
    const method = req.method ?? "GET";
    const path = req.url ?? "/";
    const found = proofHeaders.find(([name]) => typeof req.headers[name] === "string");
    if (found === undefined) {
      state.unpaid += 1;
      write402(res, { method, path, error: "payment_required" });
      return;
    }
    const [name, header, lane] = found;
    await answerProof(req, res, { method, path, header, value: req.headers[name] as string, lane });
  }

  const server = createServer((req, res) => {
    handle(req, res).catch(() => {
      if (!res.headersSent) res.writeHead(500);
      res.end();
    });
  });
  server.on("connection", (socket) => {
    sockets.add(socket);
    socket.on("close", () => sockets.delete(socket));
  });
  await new Promise<void>((resolve) => server.listen(port, "127.0.0.1", resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  let closing: Promise<void> | undefined;

  return Object.freeze({
    url: base,
    proofs,
    unpaid: () => state.unpaid,
    async settleAll(): Promise<readonly SettledAuthorization[]> {
      await Promise.all([...held.keys()].map((key) => settle(key)));
      return Promise.all(
        [...settling.values()].map(async ({ path, payment, authorization, outcome }) => ({
          payment,
          ...(authorization === undefined ? {} : { authorization }),
          path,
          outcome: await outcome,
        })),
      );
    },
    close(): Promise<void> {
      closing ??= new Promise<void>((resolve) => {
        for (const timer of timers) clearInterval(timer);
        timers.clear();
        for (const socket of sockets) socket.destroy();
        server.close(() => resolve());
      });
      return closing;
    },
  });
}
