/**
 * The messages the engine hands to the app on its own: Signals it makes
 * (`channel_closed`, `pool_empty`, `accept_failed`) and posted messages it
 * hands back with a status, with the reserved headers that say why (spec
 * §9, §11; the `~reason` headers are [N]).
 *
 * @module
 */

import type { MessageStore } from "./message_store.ts";
import { OpCode } from "./opcode.ts";
import { OPCODE_MASK, ORIGIN_BIT } from "./proto.ts";
import type { AmpeStatus } from "./status.ts";
import { appendHeader } from "./text_headers.ts";
import { OS_ERRNO_HEADER, OS_ERROR_HEADER, REASON_HEADER } from "./close_reason.ts";
import type { Failure } from "./failure.ts";

/** The opcode of a stored message. */
export function opCodeOf(store: MessageStore): number {
  return store.proto & OPCODE_MASK;
}

/** Makes `note` (a reset store) a Signal from the engine: ⟨Signal | E | status | channel | mid⟩. */
export function engineSignal(
  note: MessageStore,
  status: AmpeStatus,
  channelNumber: number,
  midHi = 0,
  midLo = 0,
): MessageStore {
  note.proto = OpCode.Signal | ORIGIN_BIT;
  note.status = status;
  note.channelNumber = channelNumber;
  note.midHi = midHi;
  note.midLo = midLo;
  return note;
}

/** Marks a posted message as handed back by the engine: ⟨op | E | status | channel | mid⟩. */
export function handBack(store: MessageStore, status: AmpeStatus, channelNumber: number): void {
  store.proto |= ORIGIN_BIT;
  store.status = status;
  store.channelNumber = channelNumber;
}

/** Turns a request into its response opcode (WelcomeRequest → WelcomeResponse, and so on). */
export function setOpCode(store: MessageStore, op: number): void {
  store.proto = (store.proto & ~OPCODE_MASK) | op;
}

/**
 * Adds `name:value` unless the message's text headers are already at their
 * limit; what the engine adds is information, never a reason to fail.
 */
export function addEngineHeader(store: MessageStore, name: string, value: string): void {
  try {
    appendHeader(store, name, value);
  } catch {
    // The headers are at the limit (the app left no room): the status still says what happened.
  }
}

/** Adds `~reason` and, where an OS error caused the failure, `~os_error` and `~os_errno`. */
export function addFailureHeaders(store: MessageStore, why: Failure): void {
  addEngineHeader(store, REASON_HEADER, why.reason);
  if (why.osErrno === 0) return;
  if (why.osError !== "") addEngineHeader(store, OS_ERROR_HEADER, why.osError);
  addEngineHeader(store, OS_ERRNO_HEADER, String(why.osErrno));
}
