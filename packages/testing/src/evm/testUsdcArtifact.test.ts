import { spawnSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { testUsdcAbi, testUsdcBytecode, testUsdcDeployedBytecode } from "./testUsdcArtifact.js";

const packageRoot = fileURLToPath(new URL("../..", import.meta.url));
const artifact = JSON.parse(
  readFileSync(new URL("../../artifacts/TestUSDC.json", import.meta.url), "utf8"),
) as {
  compiler: string;
  abi: unknown;
  bytecode: string;
  deployedBytecode: string;
};

describe("TestUSDC artifact", () => {
  it("the generated module carries exactly the committed JSON artifact", () => {
    expect(testUsdcAbi).toEqual(artifact.abi);
    expect(testUsdcBytecode).toBe(artifact.bytecode);
    expect(testUsdcDeployedBytecode).toBe(artifact.deployedBytecode);
    expect(artifact.compiler).toMatch(/^solc-js 0\.8\.30\+commit\.73712a01/);
  });

  it("exposes the EIP-3009 surface, both transferWithAuthorization overloads included", () => {
    const functions = testUsdcAbi.filter((item) => item.type === "function").map((item) => item.name);
    expect(functions.filter((name) => name === "transferWithAuthorization")).toHaveLength(2);
    expect(functions.filter((name) => name === "receiveWithAuthorization")).toHaveLength(2);
    expect(functions.filter((name) => name === "cancelAuthorization")).toHaveLength(2);
    expect(functions).toEqual(
      expect.arrayContaining(["authorizationState", "eip712Domain", "initialize", "mint", "name", "version"]),
    );
  });

  it("is what contracts/TestUSDC.sol compiles to (scripts/compile.mjs --check)", () => {
    const check = spawnSync(process.execPath, ["scripts/compile.mjs", "--check"], {
      cwd: packageRoot,
      encoding: "utf8",
    });
    expect(check.stderr).toBe("");
    expect(check.status).toBe(0);
  }, 30_000);
});
