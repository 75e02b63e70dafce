/**
 * `AmpeError`: the one error class of tofu. It carries the status number of
 * the failure and the Zig error name as its `code`.
 *
 * @module
 */

import { AmpeStatus, errorName, rawToStatus } from "./status.ts";
import type { CloseReason } from "./close_reason.ts";

// Default messages, index = status value.
const DEFAULT_MESSAGES: readonly string[] = [
  "Success",
  "Not implemented yet",
  "Wrong address",
  "Not allowed",
  "Null message: the message was already handed over",
  "Invalid message",
  "Invalid opCode",
  "Invalid text headers length",
  "Invalid body length",
  "Invalid use of the more flag",
  "Invalid channel number",
  "The channel belongs to another channel group",
  "Invalid message id",
  "Invalid address",
  "UDS path not found",
  "Notifications are disabled",
  "Notification failed",
  "Peer disconnected",
  "Communication failed",
  "Message pool is empty",
  "Allocation failed",
  "Receiver update",
  "Channel closed",
  "Shutdown started",
  "Connect failed",
  "Listen failed",
  "Accept failed",
  "Send failed",
  "Receive failed",
  "Setting a socket option failed",
  "Processing failed",
  "Unknown error",
];

/** Options of the {@linkcode AmpeError} constructor. */
export interface AmpeErrorOptions {
  /** The underlying error, if any. */
  cause?: unknown;
  /** Overrides the default code (the Zig error name of the status), e.g. `"BadName"`. */
  code?: string;
  /** Why the engine closed the channel or refused the request: a `~reason` header value. */
  reason?: CloseReason;
  /** The OS error behind the failure as the OS names it: a `~os_error` header value. */
  osError?: string;
  /** The OS error number behind the failure: the `~os_errno` header value. */
  osErrno?: number;
}

/**
 * A tofu failure. `status` is an {@linkcode AmpeStatus} value, `code` the Zig
 * error name (`"ChannelClosed"`) unless the thrower named a finer one
 * (`"BadName"` and `"BadValue"` for text headers).
 *
 * @example
 * ```ts
 * import { AmpeError, AmpeStatus } from "@tofu/tofu";
 * const e = new AmpeError(AmpeStatus.channelClosed);
 * e.code; // "ChannelClosed"
 * e.message; // "Channel closed"
 * ```
 */
export class AmpeError extends Error {
  /** Always `"AmpeError"`. */
  override readonly name = "AmpeError";
  /** The status number (0..31); raw values of 31 and above become `unknownError`. */
  readonly status: AmpeStatus;
  /** The Zig error name of the status, or the finer code given by the thrower. */
  readonly code: string;
  /**
   * Why the engine closed the channel or refused the request (`"peer_reset"`,
   * `"connect_failed"`…, the `~reason` header), when the failure came with one.
   */
  declare readonly reason?: CloseReason;
  /** The OS error behind the failure as the OS names it (`"ECONNREFUSED"`), when known. */
  declare readonly osError?: string;
  /** The OS error number behind the failure (`errno`, or the Windows error code), when known. */
  declare readonly osErrno?: number;

  /**
   * Makes the error of a failure status.
   *
   * @param status the failure's status; see {@linkcode AmpeStatus}
   * @param message what failed and with which value; defaults to a description of the status
   * @param options `cause`, `code`, and what the engine said about the failure
   */
  constructor(status: number, message?: string, options?: AmpeErrorOptions) {
    const normalized = rawToStatus(status);
    super(
      message ?? DEFAULT_MESSAGES[normalized],
      options !== undefined && "cause" in options ? { cause: options.cause } : undefined,
    );
    this.status = normalized;
    this.code = options?.code ?? errorName(normalized);
    if (options?.reason !== undefined) this.reason = options.reason;
    if (options?.osError !== undefined) this.osError = options.osError;
    if (options?.osErrno !== undefined) this.osErrno = options.osErrno;
  }
}

/**
 * The error of a raw status byte: `undefined` for 0 (success), an
 * `AmpeError` with `code` `"UnknownError"` for 31 and above.
 *
 * @example
 * ```ts
 * import { rawToError } from "@tofu/tofu";
 * rawToError(22)?.code; // "ChannelClosed"
 * rawToError(0); // undefined
 * ```
 */
export function rawToError(raw: number): AmpeError | undefined {
  return raw === AmpeStatus.success ? undefined : new AmpeError(raw);
}

/**
 * The status of any thrown value: its `status` for an `AmpeError`, else
 * `unknownError` (Zig's `errorToStatus` for unmapped errors).
 *
 * @example
 * ```ts
 * import { AmpeError, errorToStatus } from "@tofu/tofu";
 * errorToStatus(new AmpeError(19)); // 19
 * errorToStatus(new TypeError("x")); // 31
 * ```
 */
export function errorToStatus(err: unknown): AmpeStatus {
  return err instanceof AmpeError ? err.status : AmpeStatus.unknownError;
}
