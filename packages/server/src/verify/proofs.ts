import { directHeaderNames, type Lane, tokenHeaderNames, x402HeaderNames } from "@tollgate/shared";

/** The payment proofs a request carries, by lane; header values as sent (not yet decoded). */
export type Proofs = Readonly<{
  facilitator?: Readonly<{ x402Version: 1 | 2; value: string }>;
  direct?: Readonly<{ tx: string | null; chain: string | null; signature: string | null }>;
  token?: string;
  /** The lanes with a proof. More than one is refused with `multiple_payment_proofs`. */
  lanes: readonly Lane[];
  /** Both `PAYMENT-SIGNATURE` and `X-PAYMENT`: also refused as multiple proofs. */
  ambiguous: boolean;
}>;

/** Reads which lanes' headers a request carries. A header that is present but empty still counts. */
export function readProofs(headers: Headers): Proofs {
  const v2 = headers.get(x402HeaderNames.paymentSignature);
  const v1 = headers.get(x402HeaderNames.xPayment);
  const tx = headers.get(directHeaderNames.tx);
  const chain = headers.get(directHeaderNames.chain);
  const signature = headers.get(directHeaderNames.signature);
  const token = headers.get(tokenHeaderNames.token);
  const lanes: Lane[] = [];
  const facilitator =
    v2 !== null
      ? { x402Version: 2 as const, value: v2 }
      : v1 !== null
        ? { x402Version: 1 as const, value: v1 }
        : undefined;
  if (facilitator) lanes.push("facilitator");
  const direct = tx !== null || chain !== null || signature !== null ? { tx, chain, signature } : undefined;
  if (direct) lanes.push("direct");
  if (token !== null) lanes.push("token");
  return {
    ...(facilitator ? { facilitator } : {}),
    ...(direct ? { direct } : {}),
    ...(token !== null ? { token } : {}),
    lanes,
    ambiguous: v2 !== null && v1 !== null,
  };
}

/** The proof's header values joined, for hashing (same proof ⇔ same bytes on the wire). */
export function proofMaterial(proofs: Proofs): string {
  if (proofs.facilitator) return `facilitator\n${proofs.facilitator.value}`;
  if (proofs.direct) {
    const { tx, chain, signature } = proofs.direct;
    return `direct\n${tx ?? ""}\n${chain ?? ""}\n${signature ?? ""}`;
  }
  return `token\n${proofs.token ?? ""}`;
}
