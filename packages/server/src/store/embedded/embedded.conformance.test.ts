import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describeStoreConformance } from "../../../test/storeConformance.js";
import { createEmbeddedStore } from "./createEmbeddedStore.js";

describeStoreConformance({
  name: "embedded (PGlite)",
  open: async (now) => {
    const dataDir = mkdtempSync(join(tmpdir(), "tollgate-embedded-"));
    const store = await createEmbeddedStore({ dataDir, now, sweepEverySeconds: 0 });
    return {
      store,
      close: async () => {
        await store.close();
        rmSync(dataDir, { recursive: true, force: true });
      },
    };
  },
});
