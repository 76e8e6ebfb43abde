// The code that `pnpm mutation` mutates, one target per area where a silent change loses money or opens a door.
// Each target names the files to mutate and the package whose vitest project runs against them: with the
// runner's `related` option only that package's tests that import a mutated file run, and per-test coverage
// runs each mutant against just the tests that reach it.
// `breakAt`: the score under which the run fails (CI runs `shared` with it); null reports without failing.

/** @typedef {{ package: string, mutate: string[], breakAt: number | null, note?: string }} MutationTarget */

/** @type {Record<string, MutationTarget>} */
export const targets = {
  shared: {
    package: "packages/shared",
    mutate: [
      "packages/shared/src/money.ts",
      "packages/shared/src/headers/base64Json.ts",
      "packages/shared/src/headers/readPaymentRequired.ts",
      "packages/shared/src/headers/convert.ts",
      "packages/shared/src/networks/registry.ts",
    ],
    breakAt: 90,
  },
};
