import { encodeHeaderJson, type FacilitatorOffer, x402HeaderNames } from "@tollgate/shared";
import type { ExactPayment } from "../../wallet.js";

/** A proof header, name and value, exactly as it is sent. */
export type ProofHeader = Readonly<{ name: string; value: string }>;

/**
 * Wraps a signed `exact` payment in the header its offer's generation expects: v2 offers get `PAYMENT-SIGNATURE`
 * with the chosen requirement echoed verbatim as `accepted` (the v2 server matches it by deep equality), v1 offers
 * get `X-PAYMENT` with the v1 network name.
 *
 * @throws `WIRE__ENCODE_FAILED` (the header would exceed 8 KiB)
 */
export function facilitatorProofHeader(offer: FacilitatorOffer, payment: ExactPayment): ProofHeader {
  if (offer.x402Version === 2) {
    const name = x402HeaderNames.paymentSignature;
    return {
      name,
      value: encodeHeaderJson({
        header: name,
        value: {
          x402Version: 2,
          resource: offer.resource,
          accepted: offer.requirement,
          payload: payment.payload,
        },
      }),
    };
  }
  const name = x402HeaderNames.xPayment;
  return {
    name,
    value: encodeHeaderJson({
      header: name,
      value: {
        x402Version: 1,
        scheme: offer.scheme,
        network: offer.requirement.network,
        payload: payment.payload,
      },
    }),
  };
}
