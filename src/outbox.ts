/**
 * The send side of one connection: posted messages wait in a queue, are
 * encoded many frames at a time and written with one gather send call: the
 * binary and text headers (and small bodies) are encoded into one buffer,
 * large bodies go out from their own storage; bytes the socket did not take
 * are kept (copied) until it is writable again.
 * The outbox knows which messages are completely written (they go back to the
 * pool) and which are not (they come back to the app if the channel closes).
 *
 * Bye rules (spec §10.5, [N7]): nothing is sent after a ByeRequest or a
 * ByeResponse, except that a ByeResponse may still go out after an own
 * ByeRequest (both peers said bye at once).
 *
 * @module
 */

import { copyBytes, viewOf } from "./byte_buffer.ts";
import type { MessageStore } from "./message_store.ts";
import { encodeFrame, encodeFrameHead, frameSize } from "./wire.ts";
import { OpCode } from "./opcode.ts";
import { OPCODE_MASK } from "./proto.ts";
import { Ring } from "./ring.ts";

/** What a flush ended with. */
export const FlushResult = {
  /** Everything that may be sent was written. */
  done: 0,
  /** The socket would block: wait until it is writable. */
  blocked: 1,
  /** The send failed: the connection is gone. */
  failed: 2,
} as const;
export type FlushResult = typeof FlushResult[keyof typeof FlushResult];

/** The socket calls an outbox writes with (the native library's). */
export interface SocketWriter {
  /** Writes bytes to `sock`: bytes written, or a negative native code (-1 = would block). */
  send(sock: number, buf: Uint8Array, off: number, len: number): number;
  /**
   * Gather write: `count` pieces (slot, off, len) in `segs`, of the buffers in
   * `slots`, in one call; bytes written or a negative native code like `send`.
   */
  sendv(sock: number, segs: Int32Array, count: number, slots: readonly Uint8Array[]): number;
}

const WOULD_BLOCK = -1;
/** Encoded bytes of a batch grow to about this many (a single larger frame still goes alone). */
export const BATCH_BYTES = 64 * 1024;
/** A batch's gathered bodies and encoded bytes together stay under this. */
const GATHER_BATCH_BYTES = 256 * 1024;
/**
 * Bodies from this size are sent from their own storage, not copied; smaller
 * ones are cheaper to copy than to describe (measured: see the commit).
 */
const GATHER_MIN_BODY = 1024;
/** Buffers and pieces of one gather call (`TOFU_SENDV_SLOTS`, `TOFU_SENDV_MAX_SEGS`). */
const SLOTS = 16;
const MAX_SEGS = 64;

/** Queue, in-flight frames and unsent bytes of one connection. */
export class Outbox {
  /** Posted, not yet encoded. */
  readonly queue: Ring<MessageStore> = new Ring<MessageStore>();
  /** Encoded (fully or partly handed to send), not yet completely written, oldest first. */
  #inFlight = new Ring<MessageStore>();
  /**
   * Stream position where the oldest in-flight frame starts. The frames of
   * stores in flight cannot change, so each one's end is its start plus its size.
   */
  #inFlightStart = 0;
  /** Stream positions: bytes encoded and bytes written so far. */
  #encoded = 0;
  #written = 0;
  /** Encoded bytes the socket did not take yet. */
  #carry: Uint8Array | null = null;
  #carryStart = 0;
  #carryEnd = 0;
  /** Bye state: after a Bye frame nothing more is encoded (except [N7]). */
  #sentByeRequest = false;
  #sentByeResponse = false;
  /** Messages completely written. */
  #messagesWritten = 0;
  /** The native code of the send that failed (FlushResult.failed), else 0. */
  failedWith = 0;

  /** True if there is anything queued or in flight at all (sendable or held). */
  get isEmpty(): boolean {
    return this.queue.length === 0 && this.#inFlight.length === 0;
  }

  /** Messages completely written so far. */
  get messagesWritten(): number {
    return this.#messagesWritten;
  }

  /** Bytes written so far. */
  get bytesWritten(): number {
    return this.#written;
  }

  /** True once an own ByeRequest or ByeResponse has been encoded. */
  get byeSent(): boolean {
    return this.#sentByeRequest || this.#sentByeResponse;
  }

  /**
   * Writes as much as `sock` takes. `scratch` is a shared buffer of at least
   * BATCH_BYTES + one maximal frame; completed messages are passed to `done`.
   * On `failed`, `failedWith` holds the native code.
   */
  flush(
    writer: SocketWriter,
    sock: number,
    scratch: Uint8Array,
    done: (store: MessageStore) => void,
  ): FlushResult {
    for (;;) {
      if (this.#carryEnd > this.#carryStart) {
        const carry = this.#carry!;
        const n = writer.send(sock, carry, this.#carryStart, this.#carryEnd - this.#carryStart);
        if (n === WOULD_BLOCK) return FlushResult.blocked;
        if (n < 0) {
          this.failedWith = n;
          return FlushResult.failed;
        }
        this.#carryStart += n;
        this.#advance(n, done);
        if (this.#carryStart < this.#carryEnd) return FlushResult.blocked;
        this.#carryStart = this.#carryEnd = 0;
        // A big carry is rare (a large frame met a full socket): do not keep it.
        if (carry.length > BATCH_BYTES) this.#carry = null;
        continue;
      }
      const batch = this.#gather;
      batch.slots[0] = scratch;
      const length = this.#encodeBatch(scratch, batch);
      if (length === 0) return FlushResult.done;
      let n = writer.sendv(sock, batch.segs, batch.count, batch.slots);
      if (n === WOULD_BLOCK) n = 0;
      else if (n < 0) {
        batch.release();
        this.failedWith = n;
        return FlushResult.failed;
      }
      // What the socket did not take is copied out before its messages can go back to the pool.
      if (n < length) this.#keep(batch, n, length);
      batch.release();
      this.#advance(n, done);
      if (n < length) return FlushResult.blocked;
    }
  }

  /** Removes and returns every message not completely written, oldest first. */
  takeUnsent(): MessageStore[] {
    const out = this.#inFlight.drain();
    this.#inFlightStart = this.#encoded;
    for (let s = this.queue.shift(); s !== undefined; s = this.queue.shift()) out.push(s);
    this.#carry = null;
    this.#carryStart = this.#carryEnd = 0;
    return out;
  }

  /** Index in the queue of the next frame that may be sent, or -1. */
  #nextSendable(): number {
    if (this.#sentByeResponse) return -1;
    if (!this.#sentByeRequest) return this.queue.length > 0 ? 0 : -1;
    for (let i = 0; i < this.queue.length; i++) {
      if ((this.queue.at(i)!.proto & OPCODE_MASK) === OpCode.ByeResponse) return i;
    }
    return -1;
  }

  /**
   * Describes the next sendable frames in `batch`: headers (and small bodies)
   * encoded into scratch, large bodies as pieces of their own storage.
   * Returns the bytes described; stops after a Bye frame.
   */
  #encodeBatch(scratch: Uint8Array, batch: GatherBatch): number {
    const view = viewOf(scratch); // one per batch, so the frames' copies allocate nothing
    let off = 0; // bytes encoded into scratch
    let runStart = 0; // start of the scratch piece not yet described
    let total = 0;
    for (;;) {
      const index = this.#nextSendable();
      if (index < 0) break;
      const store = this.queue.at(index)!;
      const size = frameSize(store);
      const bl = store.body.length;
      // A gathered body takes a slot and two pieces (itself, then the scratch run after it).
      const gathered = bl >= GATHER_MIN_BODY && batch.bodies < SLOTS - 1 &&
        batch.count + 3 <= MAX_SEGS;
      const encoded = gathered ? size - bl : size;
      if (total > 0 && (off + encoded > BATCH_BYTES || total + size > GATHER_BATCH_BYTES)) break;
      if (bl >= GATHER_MIN_BODY && !gathered && total > 0) break; // the next batch gathers it
      this.queue.removeAt(index);
      if (gathered) {
        off = encodeFrameHead(store, scratch, off, view);
        batch.piece(0, runStart, off - runStart);
        batch.piece(batch.body(store.body.bytes), store.body.offset, bl);
        runStart = off;
      } else {
        off = encodeFrame(store, scratch, off, view);
      }
      total += size;
      this.#encoded += size;
      this.#inFlight.push(store);
      const op = store.proto & OPCODE_MASK;
      if (op === OpCode.ByeRequest) this.#sentByeRequest = true;
      if (op === OpCode.ByeResponse) this.#sentByeResponse = true;
    }
    batch.piece(0, runStart, off - runStart);
    return total;
  }

  #advance(n: number, done: (store: MessageStore) => void): void {
    this.#written += n;
    const inFlight = this.#inFlight;
    while (inFlight.length > 0) {
      const end = this.#inFlightStart + frameSize(inFlight.peek()!);
      if (end > this.#written) break;
      this.#inFlightStart = end;
      this.#messagesWritten++;
      done(inFlight.shift()!);
    }
  }

  /** Copies bytes `from..to` of what `batch` describes into the carry. */
  #keep(batch: GatherBatch, from: number, to: number): void {
    const size = to - from;
    if (this.#carry === null || this.#carry.length < size) this.#carry = new Uint8Array(size);
    const carry = this.#carry;
    const segs = batch.segs;
    let pos = 0; // position in the batch of the current piece's start
    let out = 0;
    for (let i = 0; i < 3 * batch.count; i += 3) {
      const len = segs[i + 2]!;
      const skip = Math.max(0, from - pos);
      if (skip < len) {
        copyBytes(batch.slots[segs[i]!]!, segs[i + 1]! + skip, carry, out, len - skip);
        out += len - skip;
      }
      pos += len;
    }
    this.#carryStart = 0;
    this.#carryEnd = size;
  }

  #gather = new GatherBatch();
}

/** The pieces of one gather call; reused from batch to batch. */
class GatherBatch {
  /** (slot, off, len) per piece. */
  readonly segs = new Int32Array(3 * MAX_SEGS);
  count = 0;
  /** Slot 0 is the scratch buffer; slots 1.. hold bodies. */
  readonly slots: Uint8Array[] = new Array<Uint8Array>(SLOTS).fill(new Uint8Array(0));
  bodies = 0;

  /** Adds a piece (empty ones are left out). */
  piece(slot: number, off: number, len: number): void {
    if (len === 0) return;
    const i = 3 * this.count++;
    this.segs[i] = slot;
    this.segs[i + 1] = off;
    this.segs[i + 2] = len;
  }

  /** Gives `bytes` a slot; returns it. */
  body(bytes: Uint8Array): number {
    this.slots[++this.bodies] = bytes;
    return this.bodies;
  }

  /** Forgets the pieces and the body buffers (they belong to messages). */
  release(): void {
    for (let i = 1; i <= this.bodies; i++) this.slots[i] = this.slots[0]!;
    this.count = 0;
    this.bodies = 0;
  }
}
