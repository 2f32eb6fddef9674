/**
 * grammY types its `signal` parameters with the `abort-controller` polyfill's AbortSignal; Node's own
 * is what it receives at run time (grammY passes it to fetch). Only the declared types differ.
 */
export function grammySignal(signal: AbortSignal): never {
  return signal as never
}
