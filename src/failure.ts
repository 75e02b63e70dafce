/**
 * Why something failed, in the terms the app is told: the status, the reason
 * (`~reason`) and the OS error behind it (`~os_error`, `~os_errno`). This is
 * the one place where a native result code becomes an `AmpeStatus`.
 *
 * @module
 */

import { AmpeStatus } from "./status.ts";
import { CloseReason } from "./close_reason.ts";
import { type Native, NativeError } from "./native_port.ts";

/** A failure as the app will see it. */
export interface Failure {
  /** The status of the messages handed back (the final Signal is always `channelClosed`). */
  readonly status: AmpeStatus;
  /** Why, as the `~reason` header says it. */
  readonly reason: CloseReason;
  /** The OS error number behind it; 0 when no OS call failed. */
  readonly osErrno: number;
  /** The OS's name of that error ("ECONNREFUSED"); "" when none or unknown. */
  readonly osError: string;
}

/** The native call whose failure is being mapped. */
export type FailedCall = "listen" | "accept" | "connect" | "io" | "poller";

/** A failure no OS call caused. */
export function failure(status: AmpeStatus, reason: CloseReason): Failure {
  return { status, reason, osErrno: 0, osError: "" };
}

/** The peer closed its end (or the channel was drained after it left) without a Bye. */
export const PEER_CLOSED: Failure = failure(AmpeStatus.peerDisconnected, CloseReason.peerClosed);
/** The peer closed after a Bye exchange. */
export const PEER_SAID_BYE: Failure = failure(AmpeStatus.peerDisconnected, CloseReason.bye);
/** A ByeResponse arrived for the own ByeRequest. */
export const BYE_ANSWERED: Failure = failure(AmpeStatus.channelClosed, CloseReason.bye);
/** The app posted a ByeSignal, or a Bye to a listener. */
export const APP_BYE: Failure = failure(AmpeStatus.channelClosed, CloseReason.byeSignal);
/** The peer sent a frame with an unknown opcode. */
export const PROTOCOL_ERROR: Failure = failure(AmpeStatus.invalidOpCode, CloseReason.protocolError);
/** The address was malformed, too long, or did not resolve. */
export const INVALID_ADDRESS: Failure = failure(
  AmpeStatus.invalidAddress,
  CloseReason.invalidAddress,
);

/** Codes the library returns without an OS call having failed: no OS error to report. */
function fromTheOs(code: number): boolean {
  return code !== NativeError.inval && code !== NativeError.badAddr &&
    code !== NativeError.nameTooLong && code !== NativeError.badHandle &&
    code !== NativeError.noBackend;
}

/**
 * What the app is told when `call` failed with the native `code`. Call it
 * right after the failing native call: the OS error is the calling thread's
 * last one.
 */
export function failureOf(code: number, call: FailedCall, native: Native): Failure {
  const { status, reason } = classify(code, call);
  if (!fromTheOs(code)) return failure(status, reason);
  const osErrno = native.lastOsError();
  if (osErrno === 0) return failure(status, reason);
  return { status, reason, osErrno, osError: native.osErrorName(osErrno) };
}

function classify(code: number, call: FailedCall): { status: AmpeStatus; reason: CloseReason } {
  if (code === NativeError.badAddr || code === NativeError.nameTooLong) {
    return INVALID_ADDRESS;
  }
  // The OS lacks the address family (no AF_UNIX on Wine or Windows before 10
  // 1803): the address is valid, this host cannot serve it.
  if (code === NativeError.afNoSupport) {
    return { status: AmpeStatus.notImplementedYet, reason: CloseReason.unsupported };
  }
  switch (call) {
    case "listen":
      return { status: AmpeStatus.listenFailed, reason: CloseReason.listenFailed };
    case "accept":
      return { status: AmpeStatus.acceptFailed, reason: CloseReason.acceptFailed };
    case "connect":
      // [N4]: a missing UDS path is told apart from a refusal.
      return {
        status: code === NativeError.noEnt ? AmpeStatus.udsPathNotFound : AmpeStatus.connectFailed,
        reason: CloseReason.connectFailed,
      };
    case "io":
      return { status: AmpeStatus.peerDisconnected, reason: CloseReason.peerReset };
    case "poller":
      return { status: AmpeStatus.communicationFailed, reason: CloseReason.pollerFailed };
  }
}
