/**
 * Why the engine closed a channel or refused a request, and what the OS said:
 * the reserved text headers the engine adds to the messages it hands back
 * (the final `channel_closed` Signal, a failed HelloRequest or WelcomeRequest
 * returned as its response).
 *
 * @module
 */

import { type Message, storeOf } from "./message.ts";
import type { MessageStore } from "./message_store.ts";
import { readHeaders } from "./text_headers.ts";

/** Reserved header: why the engine closed the channel or refused the request ({@linkcode CloseReason}). */
export const REASON_HEADER = "~reason";
/** Reserved header: the OS error behind a failure, as the OS names it (`ECONNREFUSED`, `WSAECONNREFUSED`). */
export const OS_ERROR_HEADER = "~os_error";
/** Reserved header: the OS error number behind a failure (`errno`, or the Windows error code). */
export const OS_ERRNO_HEADER = "~os_errno";

/**
 * The values of the `~reason` header.
 *
 * @example
 * ```ts
 * import { CloseReason } from "@tofu/tofu";
 * CloseReason.peerClosed; // "peer_closed"
 * ```
 */
export const CloseReason = {
  /** The peer ended the connection orderly without a Bye (it closed its socket, or a process that does not reset its sockets ended). */
  peerClosed: "peer_closed",
  /**
   * The connection broke: reset by the peer, or a send or receive failed. A
   * tofu peer whose process is killed, or whose engine is destroyed, resets
   * its connections (it closes abortively).
   */
  peerReset: "peer_reset",
  /** A ByeRequest / ByeResponse exchange ended the channel. */
  bye: "bye",
  /** The app posted a ByeSignal (or a Bye to a listener). */
  byeSignal: "bye_signal",
  /** The connect failed (refused, unreachable, timed out, no such UDS path). */
  connectFailed: "connect_failed",
  /** The listen failed (address in use, not a socket, permission denied). */
  listenFailed: "listen_failed",
  /** Accepting a connection failed (e.g. the descriptor limit); the listener stays open and retries. */
  acceptFailed: "accept_failed",
  /** The address could not be used: malformed, too long, or its host name did not resolve. */
  invalidAddress: "invalid_address",
  /** This host cannot serve the address family (no AF_UNIX). */
  unsupported: "unsupported",
  /** The peer broke the protocol (an unknown opcode). */
  protocolError: "protocol_error",
  /** The OS poller refused to watch the socket, or reported an error on a listener. */
  pollerFailed: "poller_failed",
} as const;

/** A value of the `~reason` header. */
export type CloseReason = typeof CloseReason[keyof typeof CloseReason];

/** What the reserved headers of an engine message say: why, and the OS error behind it. */
export interface Why {
  /** The `~reason` value, or undefined when the message carries none. */
  reason: CloseReason | undefined;
  /** The OS's name of the error (`~os_error`), when an OS call failed and the library knows the name. */
  osError?: string;
  /** The OS error number (`~os_errno`), when an OS call failed. */
  osErrno?: number;
}

/**
 * Reads `~reason`, `~os_error` and `~os_errno` from a message the engine
 * handed over (a `channel_closed` Signal, a failed Hello/WelcomeResponse).
 *
 * @example
 * ```ts
 * import { type Message, whyOf } from "@tofu/tofu";
 * function explain(closed: Message): string {
 *   const why = whyOf(closed);
 *   return why.osError === undefined ? `${why.reason}` : `${why.reason} (${why.osError} ${why.osErrno})`;
 * }
 * ```
 */
export function whyOf(msg: Message): Why {
  return whyOfStore(storeOf(msg));
}

/** `whyOf` for a stored message (the engine side). */
export function whyOfStore(store: MessageStore): Why {
  const why: Why = { reason: undefined };
  if (store.headers.length === 0) return why;
  for (const { name, value } of readHeaders(() => store.headers)) {
    if (name === REASON_HEADER) why.reason ??= value as CloseReason;
    else if (name === OS_ERROR_HEADER) why.osError ??= value;
    else if (name === OS_ERRNO_HEADER && why.osErrno === undefined) {
      const errno = Number(value);
      if (value !== "" && Number.isInteger(errno)) why.osErrno = errno;
    }
  }
  return why;
}
