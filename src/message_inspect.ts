/**
 * What `console.log(msg)` and `util.inspect(msg)` print on both runtimes:
 * the binary header with names instead of numbers, the text headers and a
 * short preview of the body. Both runtimes ask an object for its own text
 * through `Symbol.for("nodejs.util.inspect.custom")`; `Message` and the
 * header views install these functions under it.
 *
 * @module
 */

import { getMessageId } from "./message_id.ts";
import type { MessageStore } from "./message_store.ts";
import { isValidOpCode, OpCode } from "./opcode.ts";
import { MORE_BIT, OOB_BIT, OPCODE_MASK, ORIGIN_BIT } from "./proto.ts";
import { statusName } from "./status.ts";
import { readHeaders } from "./text_headers.ts";

/** The key under which both runtimes look for an object's own inspect function. */
export const INSPECT: unique symbol = Symbol.for("nodejs.util.inspect.custom");

/** Bytes of the body shown at most. */
export const BODY_PREVIEW = 32;

const MAX_VALUE = 64;

// Index = opCode.
const OPCODE_NAMES = Object.keys(OpCode);

/** The header fields the descriptions read. */
export interface HeaderBytes {
  /** Channel number. */
  channelNumber: number;
  /** Raw proto byte. */
  proto: number;
  /** Raw status byte. */
  status: number;
  /** High half of the message id. */
  midHi: number;
  /** Low half of the message id. */
  midLo: number;
}

function opCodeName(proto: number): string {
  const op = proto & OPCODE_MASK;
  return isValidOpCode(op) ? `${OPCODE_NAMES[op]}` : `invalid opCode ${op}`;
}

function statusText(raw: number): string {
  return raw <= 30 ? statusName(raw) : `unknownError (raw ${raw})`;
}

/**
 * The binary header in one line: `Request | application | success | channel
 * 3 | id 42n | last`, plus `oob` when that bit is set.
 *
 * @example
 * ```ts
 * import { describeHeader } from "./message_inspect.ts";
 * import { MessageStore } from "./message_store.ts";
 * describeHeader(new MessageStore()); // "Request | application | success | channel 0 | id 0n | last"
 * ```
 */
export function describeHeader(h: HeaderBytes): string {
  const parts = [
    opCodeName(h.proto),
    (h.proto & ORIGIN_BIT) !== 0 ? "engine" : "application",
    statusText(h.status),
    `channel ${h.channelNumber}`,
    `id ${getMessageId(h)}n`,
    (h.proto & MORE_BIT) !== 0 ? "more" : "last",
  ];
  if ((h.proto & OOB_BIT) !== 0) parts.push("oob");
  return parts.join(" | ");
}

function isPrintable(text: string): boolean {
  // Tab, LF and CR are fine; other C0 controls, DEL and C1 controls are not.
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if ((c < 0x20 && c !== 0x09 && c !== 0x0a && c !== 0x0d) || (c >= 0x7f && c <= 0x9f)) {
      return false;
    }
  }
  return true;
}

function hex(bytes: Uint8Array): string {
  return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join(" ");
}

/**
 * The first 32 bytes of `body` with its length: as quoted text when they are
 * valid, printable UTF-8 (a character cut at the end is left out), else in
 * hex.
 *
 * @example
 * ```ts
 * import { describeBody } from "./message_inspect.ts";
 * describeBody(new TextEncoder().encode("hi")); // '2 bytes "hi"'
 * describeBody(new Uint8Array([0, 255])); // "2 bytes <00 ff>"
 * ```
 */
export function describeBody(body: Uint8Array): string {
  const size = `${body.length} ${body.length === 1 ? "byte" : "bytes"}`;
  if (body.length === 0) return "empty";
  const head = body.subarray(0, BODY_PREVIEW);
  const cut = body.length > BODY_PREVIEW ? "..." : "";
  let text: string | undefined;
  try {
    // fatal: invalid UTF-8 shows as hex; stream: a character cut at byte 32 is held back.
    text = new TextDecoder("utf-8", { fatal: true }).decode(head, { stream: cut !== "" });
  } catch {
    text = undefined;
  }
  if (text !== undefined && isPrintable(text)) return `${size} ${JSON.stringify(text)}${cut}`;
  return `${size} <${hex(head)}${cut === "" ? "" : " ..."}>`;
}

function shortValue(value: string): string {
  return value.length > MAX_VALUE ? `${value.slice(0, MAX_VALUE)}...` : value;
}

/**
 * The whole message as `console.log` shows it: a `Message` block with the
 * header line, one line per text header and the body preview; for a
 * message object that was handed over (post, put, updateReceiver), a line
 * that says so.
 *
 * @example
 * ```ts
 * import { describeMessage } from "./message_inspect.ts";
 * import { MessageStore } from "./message_store.ts";
 * describeMessage(null); // "Message <handed over: post, put or updateReceiver took it>"
 * describeMessage(new MessageStore()).startsWith("Message {"); // true
 * ```
 */
export function describeMessage(store: MessageStore | null): string {
  if (store === null) {
    return "Message <handed over: post, put or updateReceiver took it>";
  }
  const headers = [...readHeaders(() => store.headers)].map(
    ({ name, value }) => `    ${JSON.stringify(name)}: ${JSON.stringify(shortValue(value))}`,
  );
  const body = store.body;
  return [
    "Message {",
    `  bhdr: ${describeHeader(store)}`,
    headers.length === 0 ? "  thdrs: none" : `  thdrs: {\n${headers.join(",\n")}\n  }`,
    `  body: ${describeBody(body.bytes.subarray(body.offset, body.offset + body.length))}`,
    "}",
  ].join("\n");
}
