import { describeStoreConformance } from "../../test/storeConformance.js";
import { createMemoryStore } from "./memory.js";

describeStoreConformance({
  name: "memory",
  open: async (now) => ({ store: createMemoryStore({ now }), close: async () => {} }),
});
