/**
 * The arguments every wait of the API takes (`waitReceive`, `receiveBatch`,
 * `waitGet`): a timeout in milliseconds and options with an abort signal,
 * checked the same way for all of them.
 *
 * @module
 */

import { AmpeError } from "./ampe_error.ts";
import { AmpeStatus } from "./status.ts";
import { describeValue } from "./describe_value.ts";

/** Wait forever in `waitReceive`, `receiveBatch` and `waitGet`. */
export const WAIT_INFINITE: number = Infinity;
/** One second, in the units of the waits (milliseconds). */
export const WAIT_SECOND = 1000;

/** Options of `waitReceive`, `receiveBatch` and `waitGet`. */
export interface WaitReceiveOptions {
  /** Aborting rejects the pending wait with the signal's reason. */
  signal?: AbortSignal;
}

/**
 * Why a wait cannot start with these arguments (JavaScript callers can pass
 * anything), as `AmpeError` `notAllowed`; null when they are fine.
 *
 * @example
 * ```ts
 * import { checkWaitArgs } from "./wait_args.ts";
 * checkWaitArgs(-1, undefined)?.message; // "Cannot wait: timeout must be ..."
 * checkWaitArgs(0, {}); // null
 * ```
 */
export function checkWaitArgs(
  timeoutMs: number,
  opts: WaitReceiveOptions | undefined,
): AmpeError | null {
  if (typeof timeoutMs !== "number" || Number.isNaN(timeoutMs) || timeoutMs < 0) {
    return new AmpeError(
      AmpeStatus.notAllowed,
      `Cannot wait: timeout must be a number of milliseconds >= 0, got ${describeValue(timeoutMs)}`,
    );
  }
  if (opts === undefined || opts === null) return null;
  if (typeof opts !== "object") {
    return new AmpeError(
      AmpeStatus.notAllowed,
      `Cannot wait: the options must be an object, got ${describeValue(opts)}`,
    );
  }
  const signal = opts.signal;
  if (signal !== undefined && !(signal instanceof AbortSignal)) {
    return new AmpeError(
      AmpeStatus.notAllowed,
      `Cannot wait: signal must be an AbortSignal, got ${describeValue(signal)}`,
    );
  }
  return null;
}
