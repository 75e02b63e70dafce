/**
 * The ownership link between a `Message` (and its views) and the store
 * holding its content. Handing the message over cuts the link for good, so a
 * stale object can never reach a store the pool has recycled. The message
 * object is the link itself: one object per message, not two.
 *
 * @module
 */

import { AmpeError } from "./ampe_error.ts";
import type { Message } from "./message.ts";
import type { MessageStore } from "./message_store.ts";
import { AmpeStatus } from "./status.ts";
import { describeValue } from "./describe_value.ts";

/** What the views of a message hold: the message itself. */
export type StoreHandle = Message;

// Reads a message's private store link (null once handed over); set once by message.ts.
let storeLink: (m: Message) => MessageStore | null;

// True for a Message object (live or handed over); set once by message.ts.
let messageBrand: (value: unknown) => boolean;

/** Internal: called once by `Message` to give this module its store link and brand check. */
export function setStoreLink(
  read: (m: Message) => MessageStore | null,
  isMessage: (value: unknown) => boolean,
): void {
  storeLink = read;
  messageBrand = isMessage;
}

/**
 * True when `value` is a `Message` object (live or handed over).
 *
 * @example
 * ```ts
 * import { Message } from "./message.ts";
 * import { isMessage } from "./store_handle.ts";
 * isMessage(Message.create()); // true
 * isMessage({}); // false
 * ```
 */
export function isMessage(value: unknown): value is Message {
  return messageBrand(value);
}

/**
 * Throws `AmpeError` when `value` is not a `Message`: `nullMessage` for null
 * and undefined, `invalidMessage` for anything else. `action` says what
 * could not be done ("post", "put", ...).
 *
 * @example
 * ```ts
 * import { Message } from "./message.ts";
 * import { checkMessage } from "./store_handle.ts";
 * checkMessage(Message.create(), "post"); // passes
 * // checkMessage("x", "post") throws AmpeError (invalidMessage)
 * ```
 */
export function checkMessage(value: unknown, action: string): asserts value is Message {
  if (messageBrand(value)) return;
  if (value === null || value === undefined) {
    throw new AmpeError(AmpeStatus.nullMessage, `Cannot ${action}: no message (${value})`);
  }
  throw new AmpeError(
    AmpeStatus.invalidMessage,
    `Cannot ${action}: a Message is needed, got ${describeValue(value)}`,
  );
}

/** The store of a message, or null once it was handed over; never throws for a message. */
export function storeLinkOf(handle: StoreHandle): MessageStore | null {
  return storeLink(handle);
}

/**
 * The store of a live message; throws `AmpeError` (`nullMessage`) once the
 * message was handed over.
 *
 * @example
 * ```ts
 * import { Message } from "./message.ts";
 * import { liveStore } from "./store_handle.ts";
 * liveStore(Message.create()).channelNumber; // 0
 * ```
 */
export function liveStore(handle: StoreHandle): MessageStore {
  const store = storeLink(handle);
  if (store === null) throw handedOver();
  return store;
}

/** The error of every use of a handed-over message. */
export function handedOver(): AmpeError {
  return new AmpeError(
    AmpeStatus.nullMessage,
    "This message object was already handed over (post, put or updateReceiver) and can no longer be used",
  );
}
