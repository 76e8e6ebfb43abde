import type { NetworkInfo, NetworkRegistry } from "@tollgate/shared";
import { type CompiledPattern, compileRoutes } from "../routes/compileRoutes.js";
import { invalidConfig, parseRoutePrice } from "./invalidConfig.js";
import { payeeFor } from "./payeeFor.js";
import type { LaneSwitches, Payees, RouteConfig, RouteContext } from "./paywallOptions.js";

/** One priced route, resolved: its options with the paywall's defaults applied and its networks looked up. */
export type RouteSettings = Readonly<{
  config: RouteConfig;
  /** Facilitator-lane networks, each with a known USDC. */
  networks: readonly NetworkInfo[];
  /** Facilitator-lane payees (the route's, else the paywall's), or a function of the request giving them. */
  payTo: Payees | ((context: RouteContext) => Payees | Promise<Payees>) | undefined;
  settlement: "after" | "before";
  maxTimeoutSeconds: number;
  /** Lanes on for this route: on for the paywall, not switched off here, and (facilitator) with a network. */
  lanes: Required<LaneSwitches>;
  bindingRequired: boolean;
}>;

/** Parameters of `resolveRoutes`: the paywall's route options and the defaults routes inherit. */
export type ResolveRoutesParameters = Readonly<{
  routes: Readonly<Record<string, RouteConfig | string>>;
  /** The paywall's facilitator-lane networks. */
  networks: readonly string[];
  /** The paywall's facilitator-lane payees. */
  payTo: Payees | undefined;
  registry: NetworkRegistry;
  /** Lanes on for the whole paywall. */
  lanes: Required<LaneSwitches>;
  /** The direct lane's `bindingRequired`; `undefined`: required. */
  bindingRequired: boolean | undefined;
}>;

/** A facilitator-lane network of a route: known, with USDC, and (EVM) its EIP-712 domain. */
function resolveNetwork(
  parameters: Readonly<{ registry: NetworkRegistry; option: string; name: string }>,
): NetworkInfo {
  const { registry, option, name } = parameters;
  const network = registry.find(name);
  if (network === undefined) throw invalidConfig(option, `unknown network "${name}"`);
  const usdc = network.usdc;
  if (usdc === undefined) throw invalidConfig(option, `no USDC known on ${network.caip2}`);
  if (network.family === "evm" && usdc.eip712 === undefined) {
    throw invalidConfig(option, `no EIP-712 domain known for USDC on ${network.caip2}`);
  }
  return network;
}

/**
 * Validates every route's options and compiles the routes for matching, in the order given.
 * @throws `SERVER__INVALID_CONFIG` for a malformed pattern, price or timeout, an unknown network, or a network
 * without a payee.
 */
export function resolveRoutes(
  parameters: ResolveRoutesParameters,
): readonly CompiledPattern<RouteSettings>[] {
  const {
    routes,
    networks: defaultNetworks,
    payTo: defaultPayTo,
    registry,
    lanes,
    bindingRequired,
  } = parameters;
  return compileRoutes(
    Object.entries(routes).map(([pattern, raw]): [string, RouteSettings] => {
      const config: RouteConfig = typeof raw === "string" ? { price: raw } : raw;
      const option = `routes["${pattern}"]`;
      if (typeof config.price === "string") parseRoutePrice(`${option}.price`, config.price);
      else if (typeof config.price !== "function")
        throw invalidConfig(`${option}.price`, "a decimal USD string or a function");
      const networks = (config.networks ?? defaultNetworks).map((n) =>
        resolveNetwork({ registry, option: `${option}.networks`, name: n }),
      );
      const payTo = config.payTo ?? defaultPayTo;
      if (typeof payTo !== "function") {
        for (const network of networks) {
          if (payeeFor(payTo, network) === undefined)
            throw invalidConfig(`${option}.payTo`, `no payee for ${network.caip2}`);
        }
      }
      const maxTimeoutSeconds = config.maxTimeoutSeconds ?? 60;
      if (!Number.isInteger(maxTimeoutSeconds) || maxTimeoutSeconds < 10) {
        throw invalidConfig(`${option}.maxTimeoutSeconds`, "an integer of at least 10");
      }
      return [
        pattern,
        {
          config,
          networks,
          payTo,
          settlement: config.settlement ?? "after",
          maxTimeoutSeconds,
          lanes: {
            facilitator: lanes.facilitator && config.lanes?.facilitator !== false && networks.length > 0,
            direct: lanes.direct && config.lanes?.direct !== false,
            token: lanes.token && config.lanes?.token !== false,
          },
          bindingRequired: config.bindingRequired ?? bindingRequired ?? true,
        },
      ];
    }),
  );
}
