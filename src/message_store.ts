/**
 * `MessageStore`: the storage of one message (binary header fields, text
 * header bytes, body bytes). The pool recycles stores; applications never see
 * one, they hold a `Message` handle that is cut off from its store when the
 * message is handed over.
 *
 * @module
 */

import { type ByteBuffer, clearBytes, newByteBuffer, setBytes } from "./byte_buffer.ts";

/**
 * Plain fields so the codec and the engine read them without indirection.
 * The message id is split in two u32 halves to keep BigInt off the hot path;
 * `thl` and `bl` are not stored: they are `headers.length` and `body.length`.
 *
 * @example
 * ```ts
 * import { MessageStore } from "./message_store.ts";
 * const s = new MessageStore();
 * s.channelNumber = 5;
 * s.reset();
 * s.channelNumber; // 0
 * ```
 */
export class MessageStore {
  /** Channel number (u16). */
  channelNumber = 0;
  /** The raw proto byte: bits 0-3 opCode, 4 origin, 5 more, 6 oob, 7 unused. */
  proto = 0;
  /** Status (u8). */
  status = 0;
  /** High 32 bits of the u64 message id. */
  midHi = 0;
  /** Low 32 bits of the u64 message id. */
  midLo = 0;
  /** Text header bytes (`name:value\r\n`...). */
  readonly headers: ByteBuffer = newByteBuffer();
  /** Body bytes. */
  readonly body: ByteBuffer = newByteBuffer();

  /** Back to a fresh message: all-zero header, no headers, no body; capacity is kept. */
  reset(): void {
    this.channelNumber = 0;
    this.proto = 0;
    this.status = 0;
    this.midHi = 0;
    this.midLo = 0;
    this.headers.length = 0;
    clearBytes(this.body); // a borrowed body gives the engine's read buffer back
  }

  /** Makes this store an independent copy of `other`. */
  copyFrom(other: MessageStore): void {
    this.channelNumber = other.channelNumber;
    this.proto = other.proto;
    this.status = other.status;
    this.midHi = other.midHi;
    this.midLo = other.midLo;
    setBytes(this.headers, other.headers.bytes, 0, other.headers.length);
    setBytes(this.body, other.body.bytes, other.body.offset, other.body.length);
  }
}
