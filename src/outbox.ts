/**
 * The send side of one connection: posted messages wait in a queue, are
 * encoded many frames at a time into one buffer and written with one send
 * call; bytes the socket did not take are kept until it is writable again.
 * The outbox knows which messages are completely written (they go back to the
 * pool) and which are not (they come back to the app if the channel closes).
 *
 * Bye rules (spec §10.5, [N7]): nothing is sent after a ByeRequest or a
 * ByeResponse, except that a ByeResponse may still go out after an own
 * ByeRequest (both peers said bye at once).
 *
 * @module
 */

import { viewOf } from "./byte_buffer.ts";
import type { MessageStore } from "./message_store.ts";
import { encodeFrame, frameSize } from "./wire.ts";
import { OpCode } from "./opcode.ts";
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

/** Writes bytes to the socket: bytes written, or a negative native code (-1 = would block). */
export type SendFn = (buf: Uint8Array, off: number, len: number) => number;

const WOULD_BLOCK = -1;
/** A batch grows to about this many bytes (a single larger frame still goes alone). */
const BATCH_BYTES = 64 * 1024;

function opCodeOf(store: MessageStore): number {
  return store.proto & 0x0f;
}

/** Queue, in-flight frames and unsent bytes of one connection. */
export class Outbox {
  /** Posted, not yet encoded. */
  readonly queue: Ring<MessageStore> = new Ring<MessageStore>();
  /** Encoded (fully or partly handed to send), not yet completely written, oldest first. */
  #inFlight = new Ring<MessageStore>();
  #inFlightEnds = new Ring<number>();
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

  /** True if something could be written now. */
  get hasWork(): boolean {
    return this.#carryEnd > this.#carryStart || this.#nextSendable() >= 0;
  }

  /** True if there is anything queued or in flight at all (sendable or held). */
  get isEmpty(): boolean {
    return this.queue.length === 0 && this.#inFlight.length === 0;
  }

  /** True once an own ByeRequest or ByeResponse has been encoded. */
  get byeSent(): boolean {
    return this.#sentByeRequest || this.#sentByeResponse;
  }

  /**
   * Writes as much as the socket takes. `scratch` is a shared buffer of at
   * least BATCH_BYTES + one maximal frame; completed messages are passed to
   * `done`.
   */
  flush(send: SendFn, scratch: Uint8Array, done: (store: MessageStore) => void): FlushResult {
    for (;;) {
      if (this.#carryEnd > this.#carryStart) {
        const carry = this.#carry!;
        const n = send(carry, this.#carryStart, this.#carryEnd - this.#carryStart);
        if (n === WOULD_BLOCK) return FlushResult.blocked;
        if (n < 0) return FlushResult.failed;
        this.#carryStart += n;
        this.#advance(n, done);
        if (this.#carryStart < this.#carryEnd) return FlushResult.blocked;
        this.#carryStart = this.#carryEnd = 0;
        // A big carry is rare (a large frame met a full socket): do not keep it.
        if (carry.length > BATCH_BYTES) this.#carry = null;
        continue;
      }
      const length = this.#encodeBatch(scratch);
      if (length === 0) return FlushResult.done;
      let n = send(scratch, 0, length);
      if (n === WOULD_BLOCK) n = 0;
      else if (n < 0) return FlushResult.failed;
      this.#advance(n, done);
      if (n < length) {
        this.#keep(scratch, n, length);
        return FlushResult.blocked;
      }
    }
  }

  /** Removes and returns every message not completely written, oldest first. */
  takeUnsent(): MessageStore[] {
    const out = this.#inFlight.drain();
    this.#inFlightEnds.drain();
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
      if (opCodeOf(this.queue.at(i)!) === OpCode.ByeResponse) return i;
    }
    return -1;
  }

  /** Encodes sendable frames into scratch; stops after a Bye frame. */
  #encodeBatch(scratch: Uint8Array): number {
    const view = viewOf(scratch); // one per batch, so the frames' copies allocate nothing
    let off = 0;
    for (;;) {
      const index = this.#nextSendable();
      if (index < 0) break;
      const store = this.queue.at(index)!;
      const size = frameSize(store);
      if (off > 0 && off + size > BATCH_BYTES) break;
      this.queue.removeAt(index);
      off = encodeFrame(store, scratch, off, view);
      this.#encoded += size;
      this.#inFlight.push(store);
      this.#inFlightEnds.push(this.#encoded);
      const op = opCodeOf(store);
      if (op === OpCode.ByeRequest) this.#sentByeRequest = true;
      if (op === OpCode.ByeResponse) this.#sentByeResponse = true;
    }
    return off;
  }

  #advance(n: number, done: (store: MessageStore) => void): void {
    this.#written += n;
    while (this.#inFlight.length > 0 && this.#inFlightEnds.peek()! <= this.#written) {
      this.#inFlightEnds.shift();
      done(this.#inFlight.shift()!);
    }
  }

  #keep(scratch: Uint8Array, from: number, to: number): void {
    const size = to - from;
    if (this.#carry === null || this.#carry.length < size) this.#carry = new Uint8Array(size);
    this.#carry.set(scratch.subarray(from, to), 0);
    this.#carryStart = 0;
    this.#carryEnd = size;
  }
}
