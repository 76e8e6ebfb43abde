import { describeSharedStoreScenarios } from "./sharedStoreScenarios.js";

// The sanity run: the same two processes with no shared store (each on its own memory store). Every scenario
// fails here (the second process serves the transfer again, does not know the token, asks the facilitator
// about the proof again), so the PostgreSQL and Redis runs passing them shows the store is what is shared.
describeSharedStoreScenarios({
  name: "nothing (each process on its own memory store)",
  storeEnvironment: () => ({}),
  shared: false,
});
