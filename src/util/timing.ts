/**
 * Wall-clock timestamps for timing logs that another process compares (the extension host's
 * "[Timing]" lines against the end-to-end harness's clock in `npm run bench`).
 */

/** Now, in milliseconds since the epoch, with sub-millisecond precision. */
export function epochMilliseconds(): number {
  return performance.timeOrigin + performance.now();
}
