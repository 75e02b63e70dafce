/**
 * `Body`: the view `msg.body` of a message's opaque payload (at most 65535
 * bytes).
 *
 * @module
 */

import { AmpeError } from "./ampe_error.ts";
import { appendBytes, appendUtf8, type ByteBuffer, clearBytes, utf8Length } from "./byte_buffer.ts";
import { AmpeStatus } from "./status.ts";
import { checkMessage, liveStore } from "./store_handle.ts";
import type { Message } from "./message.ts";
import { describeValue } from "./describe_value.ts";
import { MAX_SECTION_SIZE } from "./wire.ts";

const decoder = new TextDecoder();

// JavaScript callers can pass anything: only bytes and strings are a body.
function checkData(data: Uint8Array | string): void {
  if (typeof data !== "string" && !(data instanceof Uint8Array)) {
    throw new AmpeError(
      AmpeStatus.invalidMessage,
      `A body is a Uint8Array or a string, got ${describeValue(data)}`,
    );
  }
}

function appendData(body: ByteBuffer, data: Uint8Array | string): void {
  checkData(data);
  const size = typeof data === "string" ? utf8Length(data) : data.length;
  if (body.length + size > MAX_SECTION_SIZE) {
    throw new AmpeError(
      AmpeStatus.invalidBodyLen,
      `Body would grow to ${body.length + size} bytes; the limit is 65535`,
    );
  }
  if (typeof data === "string") appendUtf8(body, data, size);
  else appendBytes(body, data, 0, size);
}

// Set by bodyOf just before it constructs: a message's own view skips the argument check,
// which would cost every `msg.body` a brand check on Deno.
let trusted = false;

/**
 * Internal: the body view of `msg` (what `msg.body` returns), made without
 * the constructor's check that `msg` is a message.
 *
 * @example
 * ```ts
 * import { bodyOf } from "./body.ts";
 * import { Message } from "./message.ts";
 * bodyOf(Message.create()).byteLength; // 0
 * ```
 */
export function bodyOf(msg: Message): Body {
  trusted = true;
  return new Body(msg);
}

/**
 * The body of a message (`msg.body`). Every member throws `AmpeError`
 * (`nullMessage`) once the message was handed over.
 *
 * @example
 * ```ts
 * import { Message } from "@tofu/tofu";
 * const m = Message.create();
 * m.body.append("hello, ");
 * m.body.append(new Uint8Array([0x77, 0x6f, 0x72, 0x6c, 0x64]));
 * m.body.text(); // "hello, world"
 * ```
 */
export class Body {
  #handle: Message;

  /**
   * The body of `msg`, the same view as `msg.body`; anything else than a
   * message throws `AmpeError` (`invalidMessage`).
   */
  constructor(msg: Message) {
    if (trusted) trusted = false;
    else checkMessage(msg, "view a body");
    this.#handle = msg;
  }

  /**
   * Appends bytes, or a string as UTF-8. Beyond 65535 bytes in total it
   * throws `AmpeError` (`invalidBodyLen`) and appends nothing; anything else
   * than a `Uint8Array` or a string throws `invalidMessage`.
   */
  append(data: Uint8Array | string): void {
    appendData(liveStore(this.#handle).body, data);
  }

  /** Replaces the body with `data`; on a size error the body is left unchanged. */
  set(data: Uint8Array | string): void {
    const body = liveStore(this.#handle).body;
    checkData(data);
    const size = typeof data === "string" ? utf8Length(data) : data.length;
    if (size > MAX_SECTION_SIZE) {
      throw new AmpeError(
        AmpeStatus.invalidBodyLen,
        `Body must be at most 65535 bytes, got ${size}`,
      );
    }
    clearBytes(body);
    appendData(body, data);
  }

  /**
   * The body bytes (empty when there is none). A view, not a copy: valid
   * until the next change and only while the message is yours (after
   * post/put the engine reuses the memory). Copy it (`slice()`) to keep it.
   */
  bytes(): Uint8Array {
    const body = liveStore(this.#handle).body;
    return body.bytes.subarray(body.offset, body.offset + body.length);
  }

  /** The body decoded as UTF-8 (invalid sequences become U+FFFD). */
  text(): string {
    return decoder.decode(this.bytes());
  }

  /** Size of the body in bytes. */
  get byteLength(): number {
    return liveStore(this.#handle).body.length;
  }

  /** Empties the body (the memory is kept for reuse). */
  reset(): void {
    clearBytes(liveStore(this.#handle).body);
  }
}
