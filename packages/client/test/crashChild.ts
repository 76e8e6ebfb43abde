// A paying agent in its own process, for the crash-and-restart test: pays one logical request with a durable
// ledger and prints what happened as one JSON line. The parent kills it mid-payment and starts it again.
import { isTollgateError } from "@tollgate/shared";
import { privateKeyToAccount } from "viem/accounts";
import { createEvmWallet } from "../src/evm/evmWallet.js";
import { createFileLedger } from "../src/node/fileLedger.js";
import { createPayingFetch } from "../src/payingFetch.js";

const [url, ledgerPath] = process.argv.slice(2);
const key = process.env.TOLLGATE_TEST_PAYER_KEY as `0x${string}`;
const ledger = createFileLedger({ path: ledgerPath as string });
const payingFetch = createPayingFetch({
  wallets: [createEvmWallet({ account: privateKeyToAccount(key) })],
  ledger,
  onEvent: (event) => {
    if (event.type === "payment.signed" || event.type === "payment.reused") {
      process.stdout.write(`${JSON.stringify({ event: event.type, claim: event.claim })}\n`);
    }
  },
});
try {
  const response = await payingFetch(url as string, { method: "POST", body: "order-1" });
  const receipt = payingFetch.getReceipt(response);
  process.stdout.write(
    `${JSON.stringify({ status: response.status, body: await response.text(), reused: receipt?.reusedProof })}\n`,
  );
} catch (error) {
  process.stdout.write(
    `${JSON.stringify({ error: isTollgateError(error) ? error.code : String(error), context: isTollgateError(error) ? error.context : undefined })}\n`,
  );
}
await ledger.close();
