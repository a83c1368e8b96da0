// Log-scale duration histogram. A metrics read must not grow with history, so run
// durations are counted into buckets whose width is 0.5% of their value: any quantile
// read from them is within 0.5% of the exact one, and a workflow whose runs last between
// one second and one day touches at most ~2,300 buckets.

const GROWTH = 1.005;
const LOG_GROWTH = Math.log(GROWTH);

/** Bucket index of a duration in milliseconds (durations under 1 ms share bucket 0). */
export function bucketOf(durationMs: number): number {
  return Math.max(0, Math.floor(Math.log(Math.max(durationMs, 1)) / LOG_GROWTH));
}

/** Smallest duration (ms) that falls into bucket `index`. */
export function bucketLowerBound(index: number): number {
  return index === 0 ? 0 : Math.pow(GROWTH, index);
}

/** Exclusive upper bound (ms) of bucket `index`. */
export function bucketUpperBound(index: number): number {
  return Math.pow(GROWTH, index + 1);
}

/**
 * Nearest-rank quantile (q in (0,1]) of the counted durations: the upper bound of the
 * bucket holding the rank, clamped to the observed [min, max] so that a single value
 * or a quantile landing in the extreme bucket reports an observed number.
 */
export function quantileFromBuckets(
  buckets: ReadonlyMap<number, number>,
  q: number,
  min: number,
  max: number,
): number | null {
  let total = 0;
  for (const count of buckets.values()) total += count;
  if (total === 0) return null;
  const rank = Math.max(1, Math.ceil(q * total));
  const ordered = [...buckets.entries()].sort((a, b) => a[0] - b[0]);
  let seen = 0;
  for (const [index, count] of ordered) {
    seen += count;
    if (seen >= rank) return Math.min(max, Math.max(min, bucketUpperBound(index)));
  }
  return max;
}
