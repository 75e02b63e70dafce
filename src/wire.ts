/**
 * The frame encoder (spec §3.1): 16-byte big-endian binary header, then the
 * text header bytes, then the body bytes. Frames are written into a
 * caller-owned buffer so many frames leave in one write call.
 *
 * @module
 */

import { AmpeError } from "./ampe_error.ts";
import { copyBytes, copyViewed, viewOf } from "./byte_buffer.ts";
import type { MessageStore } from "./message_store.ts";
import { AmpeStatus } from "./status.ts";

/** Size of the binary header on the wire. */
export const HEADER_SIZE = 16;

/** Largest text header section and largest body (u16 lengths). */
export const MAX_SECTION_SIZE = 65535;

/** Largest frame: 16 + 65535 + 65535 bytes. */
export const MAX_FRAME_SIZE: number = HEADER_SIZE + 2 * MAX_SECTION_SIZE;

/**
 * The number of bytes `encodeFrame` writes for `store`.
 *
 * @example
 * ```ts
 * import { MessageStore } from "./message_store.ts";
 * import { frameSize } from "./wire.ts";
 * frameSize(new MessageStore()); // 16
 * ```
 */
export function frameSize(store: MessageStore): number {
  return HEADER_SIZE + store.headers.length + store.body.length;
}

/**
 * Writes a 16-byte binary header at `out[off..off+16]`.
 *
 * @example
 * ```ts
 * import { encodeHeader } from "./wire.ts";
 * const out = new Uint8Array(16);
 * encodeHeader(out, 0, 0x1234, 0, 0xff, 0xaabbccdd, 0xeeff0011, 0x5678, 0x9abc);
 * // out = 12 34 00 ff aa bb cc dd ee ff 00 11 56 78 9a bc
 * ```
 */
export function encodeHeader(
  out: Uint8Array,
  off: number,
  channelNumber: number,
  proto: number,
  status: number,
  midHi: number,
  midLo: number,
  thl: number,
  bl: number,
): void {
  out[off] = channelNumber >>> 8;
  out[off + 1] = channelNumber;
  out[off + 2] = proto;
  out[off + 3] = status;
  out[off + 4] = midHi >>> 24;
  out[off + 5] = midHi >>> 16;
  out[off + 6] = midHi >>> 8;
  out[off + 7] = midHi;
  out[off + 8] = midLo >>> 24;
  out[off + 9] = midLo >>> 16;
  out[off + 10] = midLo >>> 8;
  out[off + 11] = midLo;
  out[off + 12] = thl >>> 8;
  out[off + 13] = thl;
  out[off + 14] = bl >>> 8;
  out[off + 15] = bl;
}

/**
 * Writes the binary header and the text headers of the frame of `store` at
 * `out[off..]` (not its body, which the caller sends from its own storage)
 * and returns the offset after them. Checks and throws like `encodeFrame`.
 *
 * @example
 * ```ts
 * import { MessageStore } from "./message_store.ts";
 * import { encodeFrameHead } from "./wire.ts";
 * const s = new MessageStore();
 * s.body.bytes = new Uint8Array(5);
 * s.body.length = 5;
 * encodeFrameHead(s, new Uint8Array(16), 0); // 16; the header says bl = 5
 * ```
 */
export function encodeFrameHead(
  store: MessageStore,
  out: Uint8Array,
  off: number,
  outView: DataView = viewOf(out),
): number {
  const end = checkFrame(store, out, off, HEADER_SIZE + store.headers.length);
  writeHead(store, out, off, outView);
  return end;
}

// The 16-byte header and the text headers of `store` at `out[off..]`, room already checked.
function writeHead(store: MessageStore, out: Uint8Array, off: number, outView: DataView): void {
  const h = store.headers;
  encodeHeader(
    out,
    off,
    store.channelNumber,
    store.proto,
    store.status,
    store.midHi,
    store.midLo,
    h.length,
    store.body.length,
  );
  copyViewed(h.bytes, h.view, 0, out, outView, off + HEADER_SIZE, h.length);
}

// The section limits, then room for `bytes` at `out[off..]`; returns the end offset.
function checkFrame(store: MessageStore, out: Uint8Array, off: number, bytes: number): number {
  const thl = store.headers.length;
  const bl = store.body.length;
  if (thl > MAX_SECTION_SIZE) {
    throw new AmpeError(
      AmpeStatus.invalidHeadersLen,
      `Text headers must be at most 65535 bytes, got ${thl}`,
    );
  }
  if (bl > MAX_SECTION_SIZE) {
    throw new AmpeError(AmpeStatus.invalidBodyLen, `Body must be at most 65535 bytes, got ${bl}`);
  }
  const end = off + bytes;
  if (off < 0 || end > out.length) {
    throw new RangeError(
      `Frame of ${end - off} bytes does not fit at offset ${off} of a ${out.length}-byte buffer`,
    );
  }
  return end;
}

/**
 * Writes the frame of `store` at `out[off..]` and returns the offset after
 * it. The channel number on the wire is `store.channelNumber`; thl and bl are
 * the current header and body lengths. `outView` is a DataView of `out`
 * (`viewOf(out)`): with it the call allocates nothing.
 *
 * Throws `RangeError` when `out` has no room for the frame, and `AmpeError`
 * (`invalidHeadersLen` / `invalidBodyLen`) for a section over 65535 bytes.
 *
 * @example
 * ```ts
 * import { MessageStore } from "./message_store.ts";
 * import { encodeFrame } from "./wire.ts";
 * const out = new Uint8Array(64);
 * let off = encodeFrame(new MessageStore(), out, 0); // 16
 * off = encodeFrame(new MessageStore(), out, off); // 32
 * ```
 */
export function encodeFrame(
  store: MessageStore,
  out: Uint8Array,
  off: number,
  outView: DataView = viewOf(out),
): number {
  const thl = store.headers.length;
  const bl = store.body.length;
  const end = checkFrame(store, out, off, HEADER_SIZE + thl + bl);
  writeHead(store, out, off, outView);
  const b = store.body;
  // The body is usually its buffer's whole content, which `set` copies without a view
  // faster than words (the codec benchmark: 29 M against 18 M frames/s on Deno, 64 B).
  copyBytes(b.bytes, b.offset, out, off + HEADER_SIZE + thl, bl);
  return end;
}
