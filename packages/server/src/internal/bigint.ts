/** The larger of two bigints (`Math.max` takes numbers only). */
export function maxBigint(a: bigint, b: bigint): bigint {
  return a > b ? a : b;
}
