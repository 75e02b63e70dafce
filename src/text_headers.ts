/**
 * Text headers (spec §4): `name:value\r\n` lines after the binary header.
 * `TextHeaders` is the view `msg.thdrs`; the functions below are what the
 * view and the address helpers share.
 *
 * @module
 */

import { AmpeError } from "./ampe_error.ts";
import { appendUtf8, type ByteBuffer, utf8Length } from "./byte_buffer.ts";
import type { MessageStore } from "./message_store.ts";
import { AmpeStatus } from "./status.ts";
import { checkMessage, liveStore } from "./store_handle.ts";
import type { Message } from "./message.ts";
import { describeValue } from "./describe_value.ts";
import { MAX_SECTION_SIZE } from "./wire.ts";

/** One text header. */
export interface TextHeader {
  /** The name: bytes before the first `:` of the line. */
  name: string;
  /** The value: the rest of the line with spaces and tabs trimmed at both ends. */
  value: string;
}

const CR = 0x0d;
const LF = 0x0a;
const COLON = 0x3a;

const decoder = new TextDecoder();

function badHeader(code: "BadName" | "BadValue", message: string): AmpeError {
  return new AmpeError(AmpeStatus.invalidMessage, message, { code });
}

/**
 * Appends `name:value\r\n` to the store's text headers (spec §4 writing
 * rules). The name is trimmed of space, tab, CR and LF; an empty name or one
 * containing `:`, CR or LF throws `AmpeError` (status `invalidMessage`, code
 * `"BadName"`); an empty value or one containing CR or LF throws code
 * `"BadValue"`. If the headers would exceed 65535 bytes it throws
 * `invalidHeadersLen`. On any error nothing is appended.
 *
 * @example
 * ```ts
 * import { MessageStore } from "./message_store.ts";
 * import { appendHeader } from "./text_headers.ts";
 * const s = new MessageStore();
 * appendHeader(s, " Content-Type\t", "application/json");
 * s.headers.length; // 31
 * ```
 */
export function appendHeader(store: MessageStore, name: string, value: string): void {
  // JavaScript callers can pass anything; a template literal would throw on a symbol.
  if (typeof name !== "string") {
    throw badHeader("BadName", `Text header name must be a string, got ${describeValue(name)}`);
  }
  if (typeof value !== "string") {
    throw badHeader("BadValue", `Text header value must be a string, got ${describeValue(value)}`);
  }
  const trimmed = name.replace(/^[ \t\r\n]+|[ \t\r\n]+$/g, "");
  if (trimmed.length === 0) {
    throw badHeader("BadName", `Text header name is empty after trimming: ${JSON.stringify(name)}`);
  }
  if (/[:\r\n]/.test(trimmed)) {
    throw badHeader(
      "BadName",
      `Text header name must not contain ':', CR or LF: ${JSON.stringify(name)}`,
    );
  }
  if (value.length === 0) {
    throw badHeader("BadValue", `Text header value is empty for name ${JSON.stringify(trimmed)}`);
  }
  if (/[\r\n]/.test(value)) {
    throw badHeader(
      "BadValue",
      `Text header value must not contain CR or LF: ${JSON.stringify(value)}`,
    );
  }
  const line = `${trimmed}:${value}\r\n`;
  const size = utf8Length(line);
  const headers = store.headers;
  if (headers.length + size > MAX_SECTION_SIZE) {
    throw new AmpeError(
      AmpeStatus.invalidHeadersLen,
      `Text headers would grow to ${headers.length + size} bytes; the limit is 65535`,
    );
  }
  appendUtf8(headers, line, size);
}

// Bounded by `length`: bytes past it are stale capacity.
function isCrlf(bytes: Uint8Array, i: number, length: number): boolean {
  return i + 1 < length && bytes[i] === CR && bytes[i + 1] === LF;
}

function trimSpaceTab(s: string): string {
  return s.replace(/^[ \t]+|[ \t]+$/g, "");
}

/**
 * Iterates the headers of the buffer `headersOf()` returns, by the spec §4
 * reading rules: lines split on CRLF, empty lines skipped, name = bytes
 * before the first `:` (the whole line if none), value = the rest trimmed of
 * spaces and tabs, a last line without CRLF still counts, and a line with an
 * empty name ends the iteration. `headersOf` is called before every step, so
 * a view can check that its message is still live.
 *
 * @example
 * ```ts
 * import { newByteBuffer, appendUtf8 } from "./byte_buffer.ts";
 * import { readHeaders } from "./text_headers.ts";
 * const b = newByteBuffer();
 * appendUtf8(b, "a: b", 4);
 * [...readHeaders(() => b)]; // [{ name: "a", value: "b" }]
 * ```
 */
export function* readHeaders(headersOf: () => ByteBuffer): Generator<TextHeader, void, unknown> {
  let index = 0;
  for (;;) {
    const { bytes, length } = headersOf();
    while (isCrlf(bytes, index, length)) index += 2;
    if (index >= length) return;
    let lineEnd = index;
    while (lineEnd < length && !isCrlf(bytes, lineEnd, length)) lineEnd++;
    let colon = index;
    while (colon < lineEnd && bytes[colon] !== COLON) colon++;
    if (colon === index) return; // empty name ends the iteration
    const name = decoder.decode(bytes.subarray(index, colon));
    const value = colon < lineEnd
      ? trimSpaceTab(decoder.decode(bytes.subarray(colon + 1, lineEnd)))
      : "";
    index = lineEnd + 2;
    yield { name, value };
  }
}

// Set by textHeadersOf just before it constructs: a message's own view skips the argument
// check, which would cost every `msg.thdrs` a brand check on Deno.
let trusted = false;

/**
 * Internal: the text headers view of `msg` (what `msg.thdrs` returns), made
 * without the constructor's check that `msg` is a message.
 *
 * @example
 * ```ts
 * import { Message } from "./message.ts";
 * import { textHeadersOf } from "./text_headers.ts";
 * textHeadersOf(Message.create()).byteLength; // 0
 * ```
 */
export function textHeadersOf(msg: Message): TextHeaders {
  trusted = true;
  return new TextHeaders(msg);
}

/**
 * The text headers of a message (`msg.thdrs`). Every member throws
 * `AmpeError` (`nullMessage`) once the message was handed over.
 *
 * @example
 * ```ts
 * import { Message } from "@tofu/tofu";
 * const m = Message.create();
 * m.thdrs.append("Content-Type", "application/json");
 * m.thdrs.get("Content-Type"); // "application/json"
 * for (const { name, value } of m.thdrs) console.log(name, value);
 * ```
 */
export class TextHeaders {
  #handle: Message;

  /**
   * The text headers of `msg`, the same view as `msg.thdrs`; anything else
   * than a message throws `AmpeError` (`invalidMessage`).
   */
  constructor(msg: Message) {
    if (trusted) trusted = false;
    else checkMessage(msg, "view text headers");
    this.#handle = msg;
  }

  /** Appends `name:value\r\n`; errors as {@linkcode appendHeader}. */
  append(name: string, value: string): void {
    appendHeader(liveStore(this.#handle), name, value);
  }

  /**
   * The value of the first header named exactly `name`, or `undefined`
   * (also for a `name` that is not a string).
   */
  get(name: string): string | undefined {
    for (const h of this) if (h.name === name) return h.value;
    return undefined;
  }

  /** The headers in order (spec §4 reading rules). */
  [Symbol.iterator](): Generator<TextHeader, void, unknown> {
    const handle = this.#handle;
    liveStore(handle);
    return readHeaders(() => liveStore(handle).headers);
  }

  /** Size of the raw header bytes. */
  get byteLength(): number {
    return liveStore(this.#handle).headers.length;
  }

  /** Removes every header. */
  reset(): void {
    liveStore(this.#handle).headers.length = 0;
  }

  /**
   * The raw header bytes. A view, not a copy: valid until the next append
   * and only while the message is yours (after post/put the engine reuses
   * the memory). Copy it (`slice()`) to keep it.
   */
  bytes(): Uint8Array {
    const h = liveStore(this.#handle).headers;
    return h.bytes.subarray(0, h.length);
  }
}
