import { describeAnalyticsScenarios } from "./analyticsScenarios.js";

// The sanity run: no store variable, so each process keeps its analytics in its own memory. The two-servers
// scenario must fail here; if it passed, it could not tell a shared store from two separate ones.
describeAnalyticsScenarios({
  name: "memory store of each process (not shared)",
  storeEnvironment: () => ({}),
  restart: false,
  storeShared: false,
});
