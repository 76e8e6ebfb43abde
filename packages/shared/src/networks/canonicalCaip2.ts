/** The shape of a CAIP-2 id: a lowercase namespace of 3 to 8 characters, a colon, a reference of 1 to 32. */
const caip2Shape = /^([-a-z0-9]{3,8}):([-_a-zA-Z0-9]{1,32})$/;

/** An `eip155` reference as CAIP-2 defines it: the decimal chain id, no sign, no leading zero. */
const eip155Reference = /^[1-9][0-9]{0,31}$/;

/**
 * The one spelling of a CAIP-2 network id, or `undefined` when `identifier` is not CAIP-2 at all. An `eip155`
 * reference is the decimal chain id without leading zeros (`eip155:084532` is chain 84532, spelt
 * `eip155:84532`); a namespace is lowercase. Wire input must already be in this form (the schemas refuse any
 * other spelling, so a deny list can never be passed by an alias); an owner's configuration is canonicalised
 * with it, so `EIP155:084532` in a deny list still denies chain 84532.
 *
 * @example
 * ```ts
 * import { canonicalCaip2 } from "@tollgate/shared";
 * canonicalCaip2("eip155:084532"); // "eip155:84532"
 * canonicalCaip2("EIP155:8453"); // "eip155:8453"
 * canonicalCaip2("base"); // undefined (a v1 name, not CAIP-2)
 * ```
 */
export function canonicalCaip2(identifier: string): string | undefined {
  const trimmed = identifier.trim();
  const colon = trimmed.indexOf(":");
  if (colon === -1) return undefined;
  const namespace = trimmed.slice(0, colon).toLowerCase();
  let reference = trimmed.slice(colon + 1);
  if (namespace === "eip155") {
    if (!/^[0-9]{1,40}$/.test(reference)) return undefined;
    reference = reference.replace(/^0+(?=[0-9])/, "");
    if (!eip155Reference.test(reference)) return undefined;
  }
  const id = `${namespace}:${reference}`;
  return caip2Shape.test(id) ? id : undefined;
}

/**
 * Whether `identifier` is a CAIP-2 id in its one canonical spelling (`canonicalCaip2` returns it unchanged).
 *
 * @example
 * ```ts
 * import { isCanonicalCaip2 } from "@tollgate/shared";
 * isCanonicalCaip2("eip155:84532"); // true
 * isCanonicalCaip2("eip155:084532"); // false
 * ```
 */
export function isCanonicalCaip2(identifier: string): boolean {
  return canonicalCaip2(identifier) === identifier;
}
