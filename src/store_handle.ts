/**
 * `StoreHandle`: the ownership token between a `Message` (and its views) and
 * the store holding its content. Handing the message over cuts the link for
 * good, so a stale object can never reach a store the pool has recycled.
 *
 * @module
 */

import { AmpeError } from "./ampe_error.ts";
import type { MessageStore } from "./message_store.ts";
import { AmpeStatus } from "./status.ts";

/**
 * Links one message object to its store until `release()`. Internal: a
 * `Message` and its lazily made views share one handle.
 *
 * @example
 * ```ts
 * import { MessageStore } from "./message_store.ts";
 * import { StoreHandle } from "./store_handle.ts";
 * const h = new StoreHandle(new MessageStore());
 * const s = h.release();
 * // h.live() now throws AmpeError (nullMessage)
 * ```
 */
export class StoreHandle {
  #store: MessageStore | null;

  /** Links a new handle to `store`. */
  constructor(store: MessageStore) {
    this.#store = store;
  }

  /** The store; throws `AmpeError` (`nullMessage`) once the message was handed over. */
  live(): MessageStore {
    const store = this.#store;
    if (store === null) throw handedOver();
    return store;
  }

  /** Cuts the link and returns the store; throws like `live()` if already cut. */
  release(): MessageStore {
    const store = this.live();
    this.#store = null;
    return store;
  }
}

function handedOver(): AmpeError {
  return new AmpeError(
    AmpeStatus.nullMessage,
    "This message object was already handed over (post, put or updateReceiver) and can no longer be used",
  );
}
