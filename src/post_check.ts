/**
 * The synchronous part of `post` that concerns the message alone: spec §8
 * steps 2 to 10 (validation, overwrites, message id). Steps 11 to 13 need the
 * channel table and belong to the engine.
 *
 * @module
 */

import { AmpeError } from "./ampe_error.ts";
import type { MessageStore } from "./message_store.ts";
import { nextMessageId } from "./message_id.ts";
import { getRole, getType, MessageRole, MessageType, OpCode } from "./opcode.ts";
import { MORE_BIT, OPCODE_MASK, ORIGIN_BIT } from "./proto.ts";
import { AmpeStatus } from "./status.ts";
import { MAX_SECTION_SIZE } from "./wire.ts";

// Sets the status byte as the spec's table says, then builds the error to throw.
function reject(store: MessageStore, status: AmpeStatus, message: string): AmpeError {
  store.status = status;
  return new AmpeError(status, message);
}

/**
 * Validates and prepares a store about to be posted, in the exact order of
 * spec §8 (2, 2a, 3, 4, 5, 6, 6a, 7, 8, 9, 10). Throws `AmpeError` and, from
 * step 2a on, leaves the error's status in `store.status`. On success origin
 * and status are 0 and a zero message id was replaced by the next global id.
 *
 * @example
 * ```ts
 * import { checkAndPrepare } from "./post_check.ts";
 * import { MessageStore } from "./message_store.ts";
 * const s = new MessageStore();
 * try { checkAndPrepare(s); } catch (e) { s.status; } // 10: Request on channel 0
 * ```
 */
export function checkAndPrepare(store: MessageStore): void {
  const op = store.proto & OPCODE_MASK;
  // 2: the status byte stays as it was
  if (op > OpCode.WelcomeResponse) {
    throw new AmpeError(AmpeStatus.invalidOpCode, `OpCode must be 0..9 to post, got ${op}`);
  }
  // 2a [N9]
  if (op === OpCode.WelcomeResponse) {
    throw reject(store, AmpeStatus.notAllowed, "An application may not post a WelcomeResponse");
  }
  // 3
  store.proto &= ~ORIGIN_BIT;
  store.status = AmpeStatus.success;
  const noId = store.midHi === 0 && store.midLo === 0;
  // 4
  if (getRole(op) === MessageRole.response && noId) {
    throw reject(
      store,
      AmpeStatus.invalidMessageId,
      `A response (opCode ${op}) needs a non-zero message id`,
    );
  }
  // 5
  if (getType(op) !== MessageType.regular && (store.proto & MORE_BIT) !== 0) {
    throw reject(
      store,
      AmpeStatus.invalidMoreUsage,
      `The more flag is allowed on Request, Response and Signal only, not on opCode ${op}`,
    );
  }
  // 6, 6a [N9]
  const opensChannel = op === OpCode.HelloRequest || op === OpCode.WelcomeRequest;
  if (store.channelNumber === 0 && !opensChannel) {
    throw reject(
      store,
      AmpeStatus.invalidChannelNumber,
      `OpCode ${op} needs a channel number, got 0`,
    );
  }
  if (store.channelNumber !== 0 && opensChannel) {
    throw reject(
      store,
      AmpeStatus.invalidChannelNumber,
      `HelloRequest and WelcomeRequest must have channel number 0, got ${store.channelNumber}`,
    );
  }
  // 7
  if (store.headers.length > MAX_SECTION_SIZE) {
    throw reject(
      store,
      AmpeStatus.invalidHeadersLen,
      `Text headers must be at most 65535 bytes, got ${store.headers.length}`,
    );
  }
  // 8
  if (store.headers.length === 0 && opensChannel) {
    throw reject(
      store,
      AmpeStatus.wrongAddress,
      `OpCode ${op} needs an address header (~connect_to or ~listen_on); it has no text headers`,
    );
  }
  // 9
  if (store.body.length > MAX_SECTION_SIZE) {
    throw reject(
      store,
      AmpeStatus.invalidBodyLen,
      `Body must be at most 65535 bytes, got ${store.body.length}`,
    );
  }
  // 10
  if (noId) nextMessageId(store);
}
