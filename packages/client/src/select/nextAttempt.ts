import type { Lane } from "@tollgate/shared";

/** The `error` a server gives when it could not reach its facilitator: the proof was never settled. */
const facilitatorUnavailableReason = "facilitator_unavailable";

/** Lanes an attempt at a 402 no longer tries, and how many fallbacks are left. */
export type Attempt = Readonly<{
  exclude: ReadonlySet<Lane>;
  fallbacks: number;
  /** The offers came from the requirement cache: a refusal means they were stale, so the 402 is paid once. */
  cached?: boolean;
}>;

/** The first attempt at a 402: no lane ruled out, one fallback. */
export const firstAttempt: Attempt = Object.freeze({ exclude: new Set<Lane>(), fallbacks: 1 });

/** Parameters of `nextAttempt`. */
export type NextAttemptParameters = Readonly<{
  /** The attempt whose proof was refused; `undefined` for a proof recorded by an earlier call. */
  attempt: Attempt | undefined;
  /** The lane of the refused proof. */
  lane: Lane;
  /** The server's refusal reason. */
  reason: string;
}>;

/**
 * What to try after a refused proof, or `undefined` when the refusal is the caller's answer:
 * - a proof of an earlier call: one new payment, without its lane if that was a token or unavailable;
 * - a token: the next lane pays;
 * - a cached requirement: the live 402 is paid once (without the lane if it was unavailable);
 * - `facilitator_unavailable`: the next lane by priority, once.
 */
export function nextAttempt(parameters: NextAttemptParameters): Attempt | undefined {
  const { attempt, lane, reason } = parameters;
  const unavailable = reason === facilitatorUnavailableReason;
  if (attempt === undefined) {
    return { exclude: new Set<Lane>(unavailable || lane === "token" ? [lane] : []), fallbacks: 0 };
  }
  if (lane === "token") return { exclude: new Set([...attempt.exclude, lane]), fallbacks: attempt.fallbacks };
  if (attempt.cached === true) {
    const exclude = unavailable ? new Set([...attempt.exclude, lane]) : attempt.exclude;
    return { exclude, fallbacks: attempt.fallbacks };
  }
  if (unavailable && attempt.fallbacks > 0) {
    return { exclude: new Set([...attempt.exclude, lane]), fallbacks: attempt.fallbacks - 1 };
  }
  return undefined;
}
