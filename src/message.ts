/**
 * `Message`: the application's handle on one message. The content lives in a
 * pooled `MessageStore`; the handle loses it for good when the message is
 * handed over (post, put, updateReceiver), so a stale handle throws instead
 * of showing a recycled message.
 *
 * @module
 */

import { type BinaryHeader, HeaderView } from "./binary_header.ts";
import { type Body, bodyOf } from "./body.ts";
import { MessageStore } from "./message_store.ts";
import { describeMessage, INSPECT } from "./message_inspect.ts";
import { MORE_BIT, ORIGIN_BIT } from "./proto.ts";
import { handedOver, liveStore, setStoreLink } from "./store_handle.ts";
import { type TextHeaders, textHeadersOf } from "./text_headers.ts";

// The engine reaches the post checks through this module.
export { checkAndPrepare } from "./post_check.ts";

// A store for the next constructor call to adopt (set only by wrapStore).
let adopted: MessageStore | null = null;

// Cuts a message's store link; set by the class's static block.
let cutLink: (m: Message) => MessageStore;

/**
 * A message: binary header (`bhdr`), text headers (`thdrs`) and body.
 * Every member throws `AmpeError` (`nullMessage`) once the message was handed
 * over with post, put or updateReceiver.
 *
 * @example
 * ```ts
 * import { Message, OpCode } from "@tofu/tofu";
 * const m = Message.create();
 * m.bhdr.proto.opCode = OpCode.Request;
 * m.bhdr.messageId = 42n;
 * m.thdrs.append("Content-Type", "text/plain");
 * m.body.append("hi");
 * m.clone().body.text(); // "hi"
 * ```
 */
export class Message {
  // The message is its own link to the store (null once handed over): views hold the message.
  #store: MessageStore | null;

  /** A new empty standalone message; the same as `Message.create()`. */
  constructor() {
    this.#store = adopted ?? new MessageStore();
    adopted = null;
  }

  /**
   * A new empty message outside any pool, e.g. to add to the pool with
   * `ampe.put(Message.create())`.
   */
  static create(): Message {
    return new Message();
  }

  // The views are made afresh on each access, not kept: a view used on the spot
  // (`m.bhdr.status`) is then an allocation the JIT can remove.

  /** The binary header, a live view. */
  get bhdr(): BinaryHeader {
    liveStore(this);
    return new HeaderView(this);
  }

  /** The text headers, a live view. */
  get thdrs(): TextHeaders {
    liveStore(this);
    return textHeadersOf(this);
  }

  /** The body, a live view. */
  get body(): Body {
    liveStore(this);
    return bodyOf(this);
  }

  /** True when the engine made this message (origin bit set). */
  isFromEngine(): boolean {
    return (liveStore(this).proto & ORIGIN_BIT) !== 0;
  }

  /** True when an application made this message (origin bit clear). */
  isFromApplication(): boolean {
    return (liveStore(this).proto & ORIGIN_BIT) === 0;
  }

  /** True when the more flag is set. */
  hasMore(): boolean {
    return (liveStore(this).proto & MORE_BIT) !== 0;
  }

  /** A new standalone message with a copy of this one's header, headers and body. */
  clone(): Message {
    const copy = new MessageStore();
    copy.copyFrom(liveStore(this));
    return wrapStore(copy);
  }

  /** Back to a fresh message: all-zero header, no headers, no body. */
  reset(): void {
    liveStore(this).reset();
  }

  static {
    // console.log and util.inspect on both runtimes; not a typed member of the API.
    Object.defineProperty(Message.prototype, INSPECT, {
      value(this: object): string {
        return #store in this ? describeMessage(this.#store) : "Message";
      },
    });
    setStoreLink(
      (m) => m.#store,
      (value) => typeof value === "object" && value !== null && #store in value,
    );
    cutLink = (m) => {
      const store = m.#store;
      if (store === null) throw handedOver();
      m.#store = null;
      return store;
    };
  }
}

/**
 * Internal: a fresh handle on `store` (the engine wraps pooled and received
 * stores this way).
 *
 * @example
 * ```ts
 * import { storeOf, wrapStore } from "./message.ts";
 * import { MessageStore } from "./message_store.ts";
 * const s = new MessageStore();
 * storeOf(wrapStore(s)) === s; // true
 * ```
 */
export function wrapStore(store: MessageStore): Message {
  adopted = store;
  return new Message();
}

/**
 * Internal: takes the store away from `m` (post, put, updateReceiver). From
 * then on every use of `m` throws `AmpeError` (`nullMessage`); so does a
 * second detach.
 *
 * @example
 * ```ts
 * import { detachStore, Message } from "./message.ts";
 * const m = Message.create();
 * const store = detachStore(m);
 * // m.body now throws AmpeError (nullMessage)
 * ```
 */
export function detachStore(m: Message): MessageStore {
  return cutLink(m);
}

/**
 * Internal: the store of a live message, without consuming it; throws
 * `AmpeError` (`nullMessage`) if it was handed over.
 *
 * @example
 * ```ts
 * import { Message, storeOf } from "./message.ts";
 * storeOf(Message.create()).channelNumber; // 0
 * ```
 */
export function storeOf(m: Message): MessageStore {
  return liveStore(m);
}
