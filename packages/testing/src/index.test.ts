import * as testing from "@tollgate/testing";
import { expect, it } from "vitest";

it("exports the kit's entry points and nothing else", () => {
  expect(Object.keys(testing).sort()).toMatchInlineSnapshot(`
    [
      "deriveEvmTestPrivateKey",
      "deriveSvmTestKeypair",
      "evmFacilitatorAccount",
      "evmFacilitatorPrivateKey",
      "evmPayeeAccounts",
      "evmPayeePrivateKeys",
      "evmPayerAccounts",
      "evmPayerPrivateKeys",
      "facilitatorHandlers",
      "loopbackOnly",
      "parseSvmTransactionError",
      "resolveAnvilBinary",
      "startAnvil",
      "startEvmChain",
      "startLocalFacilitator",
      "startSolanaBank",
      "svmFacilitatorFeePayerKeypair",
      "svmMintAuthorityKeypair",
      "svmPayeeKeypairs",
      "svmPayerKeypairs",
      "testUsdcAbi",
      "testUsdcBytecode",
      "testUsdcDeployedBytecode",
    ]
  `);
});
