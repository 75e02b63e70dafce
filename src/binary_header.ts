/**
 * `BinaryHeader` and its `proto` view: the 16-byte header of a message as
 * typed fields. A header is either a live view of a message (`msg.bhdr`) or a
 * standalone value (`new BinaryHeader()`, `BinaryHeader.fromBytes`, the copy
 * `post` returns).
 *
 * @module
 */

import { AmpeError } from "./ampe_error.ts";
import type { MessageStore } from "./message_store.ts";
import { getMessageId, setMessageId } from "./message_id.ts";
import type { OpCode } from "./opcode.ts";
import { defaultProto, MORE_BIT, OOB_BIT, OPCODE_MASK, ORIGIN_BIT } from "./proto.ts";
import { AmpeStatus } from "./status.ts";
import { liveStore, type StoreHandle } from "./store_handle.ts";
import { encodeHeader, HEADER_SIZE } from "./wire.ts";

/**
 * The fields of a standalone header. Internal; `thl` and `bl` are the
 * lengths at the time of the snapshot.
 */
export class HeaderFields {
  /** Channel number (u16). */
  channelNumber = 0;
  /** Raw proto byte. */
  proto = 0;
  /** Status (u8). */
  status = 0;
  /** High half of the message id. */
  midHi = 0;
  /** Low half of the message id. */
  midLo = 0;
  /** Text headers length. */
  thl = 0;
  /** Body length. */
  bl = 0;
}

/** Where a header view reads and writes: a live message, or its own fields. */
export type HeaderSource = StoreHandle | HeaderFields;

function fieldsOf(source: HeaderSource): MessageStore | HeaderFields {
  return source instanceof HeaderFields ? source : liveStore(source);
}

function checkFlag(name: string, value: number): number {
  if (value !== 0 && value !== 1) {
    throw new AmpeError(AmpeStatus.invalidMessage, `The ${name} flag must be 0 or 1, got ${value}`);
  }
  return value;
}

/**
 * The proto byte as fields: `opCode` (bits 0-3), `origin` (bit 4), `more`
 * (bit 5), `oob` (bit 6). Obtained from `header.proto`.
 *
 * @example
 * ```ts
 * import { BinaryHeader } from "./binary_header.ts";
 * import { OpCode } from "./opcode.ts";
 * const h = new BinaryHeader();
 * h.proto.opCode = OpCode.Signal;
 * h.proto.more = 1;
 * h.toBytes()[2]; // 0x22
 * ```
 */
export class ProtoFields {
  #source: HeaderSource;

  /** Internal: made by `BinaryHeader.proto`. */
  constructor(source: HeaderSource) {
    this.#source = source;
  }

  /**
   * The opCode (see `OpCode`). The setter accepts 0..15 so that an invalid
   * value can be built and is rejected by `post` (`invalidOpCode`); anything
   * else throws `AmpeError` (`invalidOpCode`).
   */
  get opCode(): number {
    return fieldsOf(this.#source).proto & OPCODE_MASK;
  }
  set opCode(value: number) {
    if (!(Number.isInteger(value) && value >= 0 && value <= OPCODE_MASK)) {
      throw new AmpeError(
        AmpeStatus.invalidOpCode,
        `OpCode must be an integer 0..15, got ${value}`,
      );
    }
    const f = fieldsOf(this.#source);
    f.proto = (f.proto & ~OPCODE_MASK) | value;
  }

  /** `OriginFlag.application` (0) or `OriginFlag.engine` (1). */
  get origin(): number {
    return (fieldsOf(this.#source).proto & ORIGIN_BIT) === 0 ? 0 : 1;
  }
  set origin(value: number) {
    setBit(this.#source, ORIGIN_BIT, checkFlag("origin", value));
  }

  /** `MoreMessagesFlag.last` (0) or `MoreMessagesFlag.more` (1). */
  get more(): number {
    return (fieldsOf(this.#source).proto & MORE_BIT) === 0 ? 0 : 1;
  }
  set more(value: number) {
    setBit(this.#source, MORE_BIT, checkFlag("more", value));
  }

  /** `OobFlag.off` (0) or `OobFlag.on` (1): urgent, sent ahead of queued messages. */
  get oob(): number {
    return (fieldsOf(this.#source).proto & OOB_BIT) === 0 ? 0 : 1;
  }
  set oob(value: number) {
    setBit(this.#source, OOB_BIT, checkFlag("oob", value));
  }
}

// A module function, not a private method: a private method would add a brand to every view.
function setBit(source: HeaderSource, bit: number, on: number): void {
  const f = fieldsOf(source);
  f.proto = on === 1 ? f.proto | bit : f.proto & ~bit;
}

/**
 * The binary header of a message (spec §2.1, §3.1).
 *
 * @example
 * ```ts
 * import { BinaryHeader } from "./binary_header.ts";
 * const h = new BinaryHeader();
 * h.channelNumber = 0x1234;
 * h.status = 0xff;
 * h.messageId = 0xAABBCCDDEEFF0011n;
 * BinaryHeader.fromBytes(h.toBytes()).messageId; // 0xAABBCCDDEEFF0011n
 * ```
 */
export class BinaryHeader {
  #source: HeaderSource;

  /**
   * A standalone all-zero header. (The argument is internal: a message's
   * live view passes its handle.)
   */
  constructor(source?: HeaderSource) {
    this.#source = source ?? new HeaderFields();
  }

  /** A standalone header for `op` as Zig's `BinaryHeader.init` makes it. */
  static init(op: OpCode): BinaryHeader {
    const h = new BinaryHeader();
    fieldsOf(h.#source).proto = defaultProto(op);
    return h;
  }

  /**
   * A standalone header from the first 16 bytes of `bytes` (wire layout);
   * fewer bytes throw `AmpeError` (`invalidMessage`).
   */
  static fromBytes(bytes: Uint8Array): BinaryHeader {
    if (bytes.length < HEADER_SIZE) {
      throw new AmpeError(
        AmpeStatus.invalidMessage,
        `A binary header needs 16 bytes, got ${bytes.length}`,
      );
    }
    const f = new HeaderFields();
    const b = (i: number) => bytes[i] as number;
    f.channelNumber = (b(0) << 8) | b(1);
    f.proto = b(2);
    f.status = b(3);
    f.midHi = ((b(4) << 24) | (b(5) << 16) | (b(6) << 8) | b(7)) >>> 0;
    f.midLo = ((b(8) << 24) | (b(9) << 16) | (b(10) << 8) | b(11)) >>> 0;
    f.thl = (b(12) << 8) | b(13);
    f.bl = (b(14) << 8) | b(15);
    return new BinaryHeader(f);
  }

  /** Channel number, an integer 0..65535; else `AmpeError` (`invalidChannelNumber`). */
  get channelNumber(): number {
    return fieldsOf(this.#source).channelNumber;
  }
  set channelNumber(value: number) {
    if (!(Number.isInteger(value) && value >= 0 && value <= 0xffff)) {
      throw new AmpeError(
        AmpeStatus.invalidChannelNumber,
        `Channel number must be an integer 0..65535, got ${value}`,
      );
    }
    fieldsOf(this.#source).channelNumber = value;
  }

  /** Status, an integer 0..255 (see `AmpeStatus`); else `AmpeError` (`invalidMessage`). */
  get status(): number {
    return fieldsOf(this.#source).status;
  }
  set status(value: number) {
    if (!(Number.isInteger(value) && value >= 0 && value <= 0xff)) {
      throw new AmpeError(
        AmpeStatus.invalidMessage,
        `Status must be an integer 0..255, got ${value}`,
      );
    }
    fieldsOf(this.#source).status = value;
  }

  /**
   * Message id (u64) as a bigint. The setter also takes a non-negative safe
   * integer; anything else throws `AmpeError` (`invalidMessageId`).
   */
  get messageId(): bigint {
    return getMessageId(fieldsOf(this.#source));
  }
  set messageId(value: bigint | number) {
    setMessageId(fieldsOf(this.#source), value);
  }

  /** The proto byte's fields. */
  get proto(): ProtoFields {
    fieldsOf(this.#source); // a handed-over message throws here too
    return new ProtoFields(this.#source); // not kept: see Message.bhdr
  }

  /** Text headers length: the current one for a live view, the recorded one otherwise. */
  get thl(): number {
    const f = fieldsOf(this.#source);
    return f instanceof HeaderFields ? f.thl : f.headers.length;
  }

  /** Body length: the current one for a live view, the recorded one otherwise. */
  get bl(): number {
    const f = fieldsOf(this.#source);
    return f instanceof HeaderFields ? f.bl : f.body.length;
  }

  /** The 16 wire bytes of this header. */
  toBytes(): Uint8Array {
    const f = fieldsOf(this.#source);
    const out = new Uint8Array(HEADER_SIZE);
    encodeHeader(out, 0, f.channelNumber, f.proto, f.status, f.midHi, f.midLo, this.thl, this.bl);
    return out;
  }
}

/**
 * A standalone copy of a store's header, with thl and bl set from its current
 * lengths: what `post` returns.
 *
 * @example
 * ```ts
 * import { snapshotHeader } from "./binary_header.ts";
 * import { MessageStore } from "./message_store.ts";
 * snapshotHeader(new MessageStore()).thl; // 0
 * ```
 */
export function snapshotHeader(store: MessageStore): BinaryHeader {
  const f = new HeaderFields();
  f.channelNumber = store.channelNumber;
  f.proto = store.proto;
  f.status = store.status;
  f.midHi = store.midHi;
  f.midLo = store.midLo;
  f.thl = store.headers.length;
  f.bl = store.body.length;
  return new BinaryHeader(f);
}
