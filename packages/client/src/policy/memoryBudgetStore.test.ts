import { describeBudgetStoreConformance, describeLedgerConformance } from "../../test/storeConformance.js";
import { createMemoryLedger } from "../ledger/ledger.js";
import { createMemoryBudgetStore } from "./memoryBudgetStore.js";

describeBudgetStoreConformance({
  name: "memory",
  skip: false,
  shared: false,
  open: async () => ({ store: createMemoryBudgetStore(), close: async () => undefined }),
});

describeLedgerConformance({
  name: "memory",
  skip: false,
  shared: false,
  open: async () => ({ store: createMemoryLedger(), close: async () => undefined }),
});
