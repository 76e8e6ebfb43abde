/**
 * `@tollgate/server`: the framework-free paywall core, the memory store, and the node:http and Web
 * `fetch` adapters. Chain-specific parts live in `@tollgate/server/evm` and `@tollgate/server/svm`, our
 * facilitator in `@tollgate/server/facilitator`.
 * @packageDocumentation
 */
export {
  type ServedFetch,
  type ServeFetchParameters,
  sendWebResponse,
  serveFetch,
  toWebRequest,
} from "./adapters/node.js";
