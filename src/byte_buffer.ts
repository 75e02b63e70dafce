/**
 * A growable byte array: `bytes` is the storage, `length` the bytes in use.
 * It grows by doubling and never shrinks, so a recycled message keeps its
 * capacity. Internal to the message store and the codec.
 *
 * @module
 */

/**
 * Bytes `offset..offset + length` of `bytes` are the content. Usually the
 * buffer owns `bytes` (offset 0, the rest is spare capacity); a received
 * body may instead borrow them from a `Lender` (the engine's read buffer),
 * and then keeps its own storage aside until it is changed or cleared.
 */
export interface ByteBuffer {
  /** The storage (own or borrowed); an own one is replaced by a larger array when it grows. */
  bytes: Uint8Array;
  /** A DataView of `bytes`, for copies that allocate nothing (`copyViewed`). */
  view: DataView;
  /** How many bytes are in use. */
  length: number;
  /** Where the content starts in `bytes` (0 unless borrowed). */
  offset: number;
  /** Who lent `bytes`, or null when they are the buffer's own. */
  lender: Lender | null;
  /** The own storage and its view while `bytes` are borrowed. */
  spare: Uint8Array;
  spareView: DataView;
}

/**
 * Memory that byte buffers may borrow instead of copying from it: it must not
 * be overwritten while `refs` > 0; `release` is called once per borrow.
 */
export interface Lender {
  readonly bytes: Uint8Array;
  readonly view: DataView;
  /** Borrowers that have not given it back yet. */
  refs: number;
  /** One borrower gave it back. */
  release(): void;
}

/** The first allocation of an empty buffer. */
const MIN_CAPACITY = 64;

// Up to this size a plain loop is as fast as `set(subarray(...))` and, unlike it, allocates
// no view object (measured on Deno 2.9 and Bun 1.4: the two cross near 48 to 64 bytes).
const LOOP_COPY_LIMIT = 48;

// Up to this size copying 4-byte words through DataViews beats `set(subarray(...))`, whose
// view object costs 50-85 ns (measured on 64-byte copies: Bun 1.4 31 ns against 85 ns,
// Deno 2.9 45 ns against 52 ns; at 16 bytes 9-13 ns against 75-85 ns).
const WORD_COPY_LIMIT = 64;
// A whole source array needs no view, and from this size `set` copies it faster than words.
const WHOLE_SET_MIN = 16;

const EMPTY = new Uint8Array(0);
const EMPTY_VIEW = new DataView(EMPTY.buffer);

/**
 * A DataView of exactly the bytes of `bytes` (index i of the view is
 * `bytes[i]`).
 *
 * @example
 * ```ts
 * import { viewOf } from "./byte_buffer.ts";
 * viewOf(new Uint8Array(8)).byteLength; // 8
 * ```
 */
export function viewOf(bytes: Uint8Array): DataView {
  return bytes.length === 0
    ? EMPTY_VIEW
    : new DataView(bytes.buffer, bytes.byteOffset, bytes.length);
}

/**
 * A buffer with `capacity` bytes of storage (0 allocates nothing).
 *
 * @example
 * ```ts
 * import { newByteBuffer } from "./byte_buffer.ts";
 * const b = newByteBuffer();
 * b.length; // 0
 * ```
 */
export function newByteBuffer(capacity = 0): ByteBuffer {
  const bytes = capacity > 0 ? new Uint8Array(capacity) : EMPTY;
  const view = viewOf(bytes);
  return { bytes, view, length: 0, offset: 0, lender: null, spare: EMPTY, spareView: EMPTY_VIEW };
}

/**
 * Makes the content `len` bytes of `lender.bytes` from `off`, without
 * copying: the buffer borrows them until it is changed or cleared (every
 * function here that changes it gives them back first).
 *
 * @example
 * ```ts
 * import { clearBytes, type Lender, lendBytes, newByteBuffer, viewOf } from "./byte_buffer.ts";
 * const memory = new Uint8Array([1, 2, 3, 4]);
 * const lender: Lender = { bytes: memory, view: viewOf(memory), refs: 0, release() { this.refs--; } };
 * const b = newByteBuffer();
 * lendBytes(b, lender, 1, 2); // b shows 2, 3; lender.refs is 1
 * clearBytes(b); // lender.refs is 0 again
 * ```
 */
export function lendBytes(buf: ByteBuffer, lender: Lender, off: number, len: number): void {
  if (buf.lender !== null) settle(buf, false);
  buf.spare = buf.bytes;
  buf.spareView = buf.view;
  buf.bytes = lender.bytes;
  buf.view = lender.view;
  buf.offset = off;
  buf.length = len;
  buf.lender = lender;
  lender.refs++;
}

/**
 * Empties the buffer (giving borrowed bytes back); its own capacity is kept.
 *
 * @example
 * ```ts
 * import { appendBytes, clearBytes, newByteBuffer } from "./byte_buffer.ts";
 * const b = newByteBuffer();
 * appendBytes(b, new Uint8Array([1]), 0, 1);
 * clearBytes(b);
 * b.length; // 0
 * ```
 */
export function clearBytes(buf: ByteBuffer): void {
  if (buf.lender !== null) settle(buf, false);
  buf.length = 0;
}

// Back to own storage: the borrowed content is copied into it when `keep`, and given back.
function settle(buf: ByteBuffer, keep: boolean): void {
  const lender = buf.lender!;
  const from = buf.offset;
  const len = keep ? buf.length : 0;
  buf.lender = null;
  buf.bytes = buf.spare;
  buf.view = buf.spareView;
  buf.spare = EMPTY;
  buf.spareView = EMPTY_VIEW;
  buf.offset = 0;
  buf.length = 0;
  if (len > 0) {
    reserve(buf, len);
    copyBytes(lender.bytes, from, buf.bytes, 0, len);
  }
  buf.length = len;
  lender.release();
}

/**
 * Makes room for `size` bytes in total, keeping the bytes in use.
 *
 * @example
 * ```ts
 * import { newByteBuffer, reserve } from "./byte_buffer.ts";
 * const b = newByteBuffer();
 * reserve(b, 100);
 * b.bytes.length >= 100; // true
 * ```
 */
export function reserve(buf: ByteBuffer, size: number): void {
  if (buf.lender !== null) settle(buf, true);
  if (size <= buf.bytes.length) return;
  let capacity = Math.max(buf.bytes.length, MIN_CAPACITY);
  while (capacity < size) capacity *= 2;
  const grown = new Uint8Array(capacity);
  copyBytes(buf.bytes, 0, grown, 0, buf.length);
  buf.bytes = grown;
  buf.view = viewOf(grown);
}

/**
 * Copies `len` bytes from `src[srcOff..]` to `dst[dstOff..]` (the arrays must
 * be distinct). Small copies use a loop so the hot path allocates nothing.
 *
 * @example
 * ```ts
 * import { copyBytes } from "./byte_buffer.ts";
 * const dst = new Uint8Array(4);
 * copyBytes(new Uint8Array([1, 2, 3]), 1, dst, 0, 2); // dst = [2, 3, 0, 0]
 * ```
 */
export function copyBytes(
  src: Uint8Array,
  srcOff: number,
  dst: Uint8Array,
  dstOff: number,
  len: number,
): void {
  if (len <= LOOP_COPY_LIMIT) {
    for (let i = 0; i < len; i++) dst[dstOff + i] = src[srcOff + i] as number;
  } else if (srcOff === 0 && len === src.length) {
    dst.set(src, dstOff); // the whole source: no view to allocate
  } else {
    dst.set(src.subarray(srcOff, srcOff + len), dstOff);
  }
}

/**
 * Copies `len` bytes from `src[srcOff..]` to `dst[dstOff..]` (distinct
 * arrays), given a DataView of each (`viewOf`): small copies move 4-byte words
 * through the views and allocate nothing.
 *
 * @example
 * ```ts
 * import { copyViewed, viewOf } from "./byte_buffer.ts";
 * const src = new Uint8Array([1, 2, 3, 4, 5]);
 * const dst = new Uint8Array(5);
 * copyViewed(src, viewOf(src), 0, dst, viewOf(dst), 0, 5); // dst = [1, 2, 3, 4, 5]
 * ```
 */
export function copyViewed(
  src: Uint8Array,
  srcView: DataView,
  srcOff: number,
  dst: Uint8Array,
  dstView: DataView,
  dstOff: number,
  len: number,
): void {
  if (len > WORD_COPY_LIMIT) {
    copyBytes(src, srcOff, dst, dstOff, len);
    return;
  }
  if (len > WHOLE_SET_MIN && srcOff === 0 && len === src.length) {
    dst.set(src, dstOff);
    return;
  }
  let i = 0;
  for (; i + 4 <= len; i += 4) {
    dstView.setUint32(dstOff + i, srcView.getUint32(srcOff + i, true), true);
  }
  for (; i < len; i++) dst[dstOff + i] = src[srcOff + i] as number;
}

/**
 * Replaces the content of `buf` with `len` bytes of `src` from `srcOff`,
 * given a DataView of `src` (see `copyViewed`).
 *
 * @example
 * ```ts
 * import { newByteBuffer, setViewed, viewOf } from "./byte_buffer.ts";
 * const src = new Uint8Array([7, 8]);
 * const b = newByteBuffer();
 * setViewed(b, src, viewOf(src), 0, 2);
 * b.bytes[1]; // 8
 * ```
 */
export function setViewed(
  buf: ByteBuffer,
  src: Uint8Array,
  srcView: DataView,
  srcOff: number,
  len: number,
): void {
  clearBytes(buf);
  reserve(buf, len);
  copyViewed(src, srcView, srcOff, buf.bytes, buf.view, 0, len);
  buf.length = len;
}

/**
 * Appends `len` bytes of `src` starting at `srcOff`.
 *
 * @example
 * ```ts
 * import { appendBytes, newByteBuffer } from "./byte_buffer.ts";
 * const b = newByteBuffer();
 * appendBytes(b, new Uint8Array([1, 2]), 0, 2);
 * b.length; // 2
 * ```
 */
export function appendBytes(buf: ByteBuffer, src: Uint8Array, srcOff: number, len: number): void {
  reserve(buf, buf.length + len);
  copyBytes(src, srcOff, buf.bytes, buf.length, len);
  buf.length += len;
}

/**
 * Replaces the content with `len` bytes of `src` starting at `srcOff`.
 *
 * @example
 * ```ts
 * import { newByteBuffer, setBytes } from "./byte_buffer.ts";
 * const b = newByteBuffer();
 * setBytes(b, new Uint8Array([7]), 0, 1);
 * b.bytes[0]; // 7
 * ```
 */
export function setBytes(buf: ByteBuffer, src: Uint8Array, srcOff: number, len: number): void {
  clearBytes(buf);
  appendBytes(buf, src, srcOff, len);
}

const encoder = new TextEncoder();

/**
 * The UTF-8 byte length of `text` (a lone surrogate counts as U+FFFD, 3
 * bytes, as `TextEncoder` writes it).
 *
 * @example
 * ```ts
 * import { utf8Length } from "./byte_buffer.ts";
 * utf8Length("é€😀"); // 2 + 3 + 4 = 9
 * ```
 */
export function utf8Length(text: string): number {
  let n = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c < 0x80) n += 1;
    else if (c < 0x800) n += 2;
    else if (c >= 0xd800 && c <= 0xdbff && isLowSurrogate(text.charCodeAt(i + 1))) {
      n += 4;
      i++;
    } else n += 3;
  }
  return n;
}

function isLowSurrogate(c: number): boolean {
  return c >= 0xdc00 && c <= 0xdfff;
}

/**
 * Appends `text` as UTF-8; `byteLength` must be `utf8Length(text)`.
 *
 * @example
 * ```ts
 * import { appendUtf8, newByteBuffer, utf8Length } from "./byte_buffer.ts";
 * const b = newByteBuffer();
 * appendUtf8(b, "hi", utf8Length("hi"));
 * b.length; // 2
 * ```
 */
export function appendUtf8(buf: ByteBuffer, text: string, byteLength: number): void {
  reserve(buf, buf.length + byteLength);
  const start = buf.length;
  encoder.encodeInto(text, buf.bytes.subarray(start, start + byteLength));
  buf.length = start + byteLength;
}
