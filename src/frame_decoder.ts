/**
 * The streaming frame decoder of one connection. It is fed arbitrary chunks of
 * the byte stream, most often straight from a read buffer that the engine
 * shares between connections, and hands out complete messages.
 *
 * Protocol:
 *
 * 1. `feed(buf, off, len, lender?)` lends the decoder `buf[off..off+len]` (no
 *    copy). With a `lender` (who owns `buf`), bodies of frames that lie whole
 *    in it are not copied either: the store borrows them from the lender.
 * 2. While `hasFrame()`: take a store (from the pool) and call `next(store)`.
 * 3. Before `buf` is overwritten: `retain()` copies what was not consumed (a
 *    partial frame, or whole frames left because no store was available) into
 *    the decoder's own carry buffer.
 *
 * A frame with an opCode above 9 is a protocol error ([N1]): `next` reports
 * it and the decoder stays failed. The origin bit of every frame is cleared
 * ([N2]); everything else is delivered as received.
 *
 * @module
 */

import { clearBytes, copyBytes, lendBytes, type Lender, setViewed, viewOf } from "./byte_buffer.ts";
import type { MessageStore } from "./message_store.ts";
import { OpCode } from "./opcode.ts";
import { OPCODE_MASK, ORIGIN_BIT } from "./proto.ts";
import { HEADER_SIZE, MAX_FRAME_SIZE } from "./wire.ts";

/** What {@linkcode FrameDecoder.next} did. */
export const DecodeResult = {
  /** No complete frame is buffered; the store was not touched. */
  incomplete: 0,
  /** The store holds the next frame. */
  frame: 1,
  /** The next frame has an opCode above 9; the store holds its binary header only. */
  protocolError: 2,
} as const;

/** A {@linkcode DecodeResult} value. */
export type DecodeResult = typeof DecodeResult[keyof typeof DecodeResult];

const EMPTY = new Uint8Array(0);
/** Smaller bodies are copied: word copies allocate nothing and pin no read buffer. */
const LEND_MIN = 65;
const MIN_CARRY = 4096;
/** An emptied carry larger than this is released. */
const KEEP_CARRY = 64 * 1024;

/** Bytes of the frame whose header starts at `b[pos]`; -1 when its opCode is invalid. */
function frameLength(b: Uint8Array, pos: number): number {
  if (((b[pos + 2] as number) & OPCODE_MASK) > OpCode.WelcomeResponse) return -1;
  return HEADER_SIZE +
    (((b[pos + 12] as number) << 8) | (b[pos + 13] as number)) +
    (((b[pos + 14] as number) << 8) | (b[pos + 15] as number));
}

/** True when `b[pos..end]` starts with a complete frame or an invalid header. */
function hasFrameAt(b: Uint8Array, pos: number, end: number): boolean {
  if (end - pos < HEADER_SIZE) return false;
  const len = frameLength(b, pos);
  return len < 0 || end - pos >= len;
}

function readU32(b: Uint8Array, pos: number): number {
  return (((b[pos] as number) << 24) | ((b[pos + 1] as number) << 16) |
    ((b[pos + 2] as number) << 8) | (b[pos + 3] as number)) >>> 0;
}

function readHeader(b: Uint8Array, pos: number, store: MessageStore): void {
  store.channelNumber = ((b[pos] as number) << 8) | (b[pos + 1] as number);
  store.proto = b[pos + 2] as number;
  store.status = b[pos + 3] as number;
  store.midHi = readU32(b, pos + 4);
  store.midLo = readU32(b, pos + 8);
}

/**
 * Reassembles frames from a byte stream; one per connection.
 *
 * Unconsumed input lives in two places, in stream order: the carry buffer
 * (owned; whole frames, then at most one partial frame at its end) and the
 * lent input. `feed` tops up a partial frame in the carry from the new input,
 * so every frame lies entirely in one of the two and is parsed in place.
 *
 * @example
 * ```ts
 * import { DecodeResult, FrameDecoder } from "./frame_decoder.ts";
 * import { MessageStore } from "./message_store.ts";
 * import { encodeFrame } from "./wire.ts";
 * const wire = new Uint8Array(16);
 * encodeFrame(new MessageStore(), wire, 0);
 * const d = new FrameDecoder();
 * d.feed(wire, 0, 10);
 * d.hasFrame(); // false
 * d.retain();
 * d.feed(wire, 10, 6);
 * d.next(new MessageStore()) === DecodeResult.frame; // true
 * ```
 */
export class FrameDecoder {
  #carry: Uint8Array = EMPTY;
  #carryView: DataView = viewOf(EMPTY);
  #carryStart = 0;
  #carryEnd = 0;
  #input: Uint8Array = EMPTY;
  #inputOff = 0;
  #inputEnd = 0;
  #inputView: DataView = viewOf(EMPTY);
  // The engine feeds the same read buffer every time: its view is made once.
  #lastFed: Uint8Array = EMPTY;
  #lastFedView: DataView = viewOf(EMPTY);
  #lender: Lender | null = null;
  #failed = false;

  /** Bytes held and not yet decoded (carry plus unconsumed lent input). */
  get buffered(): number {
    return this.#carryEnd - this.#carryStart + this.#inputEnd - this.#inputOff;
  }

  /** True after a protocol error; only `reset()` clears it. */
  get failed(): boolean {
    return this.#failed;
  }

  /**
   * Lends the decoder `buf[off..off+len]`. Input still unconsumed from the
   * previous feed is retained first (so a caller that forgot `retain()` loses
   * nothing as long as it did not overwrite that buffer). A failed decoder
   * ignores new input.
   */
  feed(buf: Uint8Array, off: number, len: number, lender: Lender | null = null): void {
    if (!(off >= 0 && len >= 0 && off + len <= buf.length)) {
      throw new RangeError(
        `Input range ${off}+${len} is outside a buffer of ${buf.length} bytes`,
      );
    }
    if (this.#inputOff < this.#inputEnd) this.retain();
    if (this.#failed || len === 0) return;
    if (lender !== null && lender.bytes !== buf) {
      throw new RangeError("The lender must own the buffer fed");
    }
    if (buf !== this.#lastFed) {
      this.#lastFed = buf;
      this.#lastFedView = lender?.view ?? viewOf(buf);
    }
    this.#lender = lender;
    this.#input = buf;
    this.#inputView = this.#lastFedView;
    this.#inputOff = off;
    this.#inputEnd = off + len;
    if (this.#carryStart < this.#carryEnd) this.#topUpCarry();
  }

  /**
   * True when `next` has something to report: a complete frame, or a
   * protocol error (then it stays true). Cheap: reads a few header bytes.
   */
  hasFrame(): boolean {
    if (this.#failed) return true;
    if (this.#carryStart < this.#carryEnd) {
      return hasFrameAt(this.#carry, this.#carryStart, this.#carryEnd);
    }
    return hasFrameAt(this.#input, this.#inputOff, this.#inputEnd);
  }

  /**
   * Moves the next complete frame into `store` (header fields as received but
   * origin forced to application, text headers copied into the store's own
   * buffer; the body too, or, when the frame lies whole in a buffer fed with
   * a lender and the body has 65 bytes or more, borrowed from the lender)
   * and returns `DecodeResult.frame`. Returns
   * `incomplete` without touching `store` when no whole frame is buffered,
   * and `protocolError` (with the offending binary header in `store`, origin
   * as received) when the next frame's opCode is above 9.
   */
  next(store: MessageStore): DecodeResult {
    const inCarry = this.#carryStart < this.#carryEnd;
    const b = inCarry ? this.#carry : this.#input;
    const view = inCarry ? this.#carryView : this.#inputView;
    const pos = inCarry ? this.#carryStart : this.#inputOff;
    const end = inCarry ? this.#carryEnd : this.#inputEnd;
    if (end - pos < HEADER_SIZE) return DecodeResult.incomplete;
    const len = frameLength(b, pos);
    if (len < 0) {
      // Stay at the bad header: it remains readable until reset().
      this.#failed = true;
      readHeader(b, pos, store);
      store.headers.length = 0;
      clearBytes(store.body);
      return DecodeResult.protocolError;
    }
    if (end - pos < len) return DecodeResult.incomplete;
    readHeader(b, pos, store);
    store.proto &= ~ORIGIN_BIT;
    const thl = ((b[pos + 12] as number) << 8) | (b[pos + 13] as number);
    setViewed(store.headers, b, view, pos + HEADER_SIZE, thl);
    const bl = len - HEADER_SIZE - thl;
    const lender = inCarry ? null : this.#lender;
    if (lender !== null && bl >= LEND_MIN) {
      lendBytes(store.body, lender, pos + HEADER_SIZE + thl, bl);
    } else setViewed(store.body, b, view, pos + HEADER_SIZE + thl, bl);
    if (inCarry) {
      this.#carryStart += len;
      if (this.#carryStart === this.#carryEnd) {
        this.#carryStart = this.#carryEnd = 0;
        // A big carry was for a big frame: do not keep it for the connection's whole life.
        if (this.#carry.length > KEEP_CARRY) this.#setCarry(EMPTY);
      }
    } else {
      this.#inputOff += len;
    }
    return DecodeResult.frame;
  }

  /**
   * Copies the unconsumed part of the lent input into the carry buffer and
   * forgets the lent buffer. Call it before the fed buffer is reused.
   */
  retain(): void {
    const rest = this.#inputEnd - this.#inputOff;
    if (rest > 0) {
      this.#reserveCarry(rest);
      copyBytes(this.#input, this.#inputOff, this.#carry, this.#carryEnd, rest);
      this.#carryEnd += rest;
    }
    this.#input = EMPTY;
    this.#inputOff = this.#inputEnd = 0;
    this.#lender = null;
  }

  /** Drops everything held, clears the failed state and frees the carry buffer. */
  reset(): void {
    this.#setCarry(EMPTY);
    this.#carryStart = this.#carryEnd = 0;
    this.#input = EMPTY;
    this.#inputOff = this.#inputEnd = 0;
    this.#lender = null;
    this.#failed = false;
  }

  #setCarry(bytes: Uint8Array): void {
    this.#carry = bytes;
    this.#carryView = viewOf(bytes);
  }

  // Completes the partial frame at the end of the carry from the lent input, as far as it goes.
  #topUpCarry(): void {
    // Offsets are relative to #carryStart: #take may compact the carry.
    const held = this.#carryEnd - this.#carryStart;
    let rel = 0;
    while (held - rel >= HEADER_SIZE) {
      const len = frameLength(this.#carry, this.#carryStart + rel);
      if (len < 0) return; // next() reports it; bytes after it do not matter
      if (held - rel < len) break;
      rel += len;
    }
    if (rel === held) return; // only whole frames: the input starts a new one
    if (held - rel < HEADER_SIZE) {
      this.#take(HEADER_SIZE - (held - rel));
      if (this.#carryEnd - this.#carryStart - rel < HEADER_SIZE) return;
    }
    const have = this.#carryEnd - this.#carryStart - rel;
    const len = frameLength(this.#carry, this.#carryStart + rel);
    if (len > have) this.#take(len - have);
  }

  // Moves up to `want` bytes from the lent input to the end of the carry.
  #take(want: number): void {
    const n = Math.min(want, this.#inputEnd - this.#inputOff);
    this.#reserveCarry(n);
    copyBytes(this.#input, this.#inputOff, this.#carry, this.#carryEnd, n);
    this.#carryEnd += n;
    this.#inputOff += n;
  }

  // Room for `extra` more bytes after the held ones, compacting or growing the carry.
  #reserveCarry(extra: number): void {
    const held = this.#carryEnd - this.#carryStart;
    if (this.#carryEnd + extra <= this.#carry.length) return;
    if (held + extra <= this.#carry.length) {
      this.#carry.copyWithin(0, this.#carryStart, this.#carryEnd);
    } else {
      let capacity = Math.max(this.#carry.length, MIN_CARRY);
      while (capacity < held + extra) capacity *= 2;
      // Doubling past one maximal frame would allocate up to twice what a peer can make us hold.
      capacity = Math.max(held + extra, Math.min(capacity, MAX_FRAME_SIZE));
      const grown = new Uint8Array(capacity);
      copyBytes(this.#carry, this.#carryStart, grown, 0, held);
      this.#setCarry(grown);
    }
    this.#carryStart = 0;
    this.#carryEnd = held;
  }
}
