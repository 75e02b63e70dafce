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
import {
  isValidOpCode,
  type MoreMessagesFlag,
  type OobFlag,
  type OpCode,
  type OriginFlag,
} from "./opcode.ts";
import { defaultProto, MORE_BIT, OOB_BIT, OPCODE_MASK, ORIGIN_BIT } from "./proto.ts";
import { AmpeStatus, rawToStatus } from "./status.ts";
import { describeValue } from "./describe_value.ts";
import { liveStore, type StoreHandle, storeLinkOf } from "./store_handle.ts";
import { encodeHeader, HEADER_SIZE } from "./wire.ts";
import { describeHeader, INSPECT } from "./message_inspect.ts";

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
    throw new AmpeError(
      AmpeStatus.invalidMessage,
      `The ${name} flag must be 0 or 1, got ${describeValue(value)}`,
    );
  }
  return value;
}

/**
 * The proto byte of a header as fields (`msg.bhdr.proto`): `opCode` (bits
 * 0-3), `origin` (bit 4), `more` (bit 5), `oob` (bit 6). Each reads as a
 * literal type, so a `switch` on `opCode` narrows. Every setter checks its
 * value and throws `AmpeError` for a wrong one.
 *
 * @example
 * ```ts
 * import { BinaryHeader, MoreMessagesFlag, OpCode } from "@tofu/tofu";
 * const h = new BinaryHeader();
 * h.proto.opCode = OpCode.Signal;
 * h.proto.more = MoreMessagesFlag.more;
 * h.toBytes()[2]; // 0x22
 * switch (h.proto.opCode) {
 *   case OpCode.Signal:
 *     console.log("a Signal"); // here opCode is typed 2
 *     break;
 * }
 * ```
 */
export interface ProtoFields {
  /**
   * The opCode, an {@linkcode OpCode} (0..9). Setting also takes 10..15
   * (with a cast), so that an invalid message can be built and be
   * refused by `post` (`invalidOpCode`); such a value reads back as is, but
   * the engine never delivers one. Anything else throws `AmpeError`
   * (`invalidOpCode`).
   */
  opCode: OpCode;

  /**
   * Who made the message: `OriginFlag.application` (0) or
   * `OriginFlag.engine` (1). Other values throw `AmpeError` (`invalidMessage`).
   */
  origin: OriginFlag;

  /**
   * `MoreMessagesFlag.last` (0) or `MoreMessagesFlag.more` (1): more
   * messages of this exchange follow. Other values throw `AmpeError`
   * (`invalidMessage`).
   */
  more: MoreMessagesFlag;

  /**
   * `OobFlag.off` (0) or `OobFlag.on` (1): urgent, sent ahead of queued
   * messages. Other values throw `AmpeError` (`invalidMessage`).
   */
  oob: OobFlag;
}

/** Internal: the implementation of {@linkcode ProtoFields}, made by `BinaryHeader.proto`. */
class ProtoView implements ProtoFields {
  #source: HeaderSource;

  constructor(source: HeaderSource) {
    this.#source = source;
  }

  get opCode(): OpCode {
    return (fieldsOf(this.#source).proto & OPCODE_MASK) as OpCode;
  }
  set opCode(value: number) {
    if (!(Number.isInteger(value) && value >= 0 && value <= OPCODE_MASK)) {
      throw new AmpeError(
        AmpeStatus.invalidOpCode,
        `OpCode must be an integer 0..15, got ${describeValue(value)}`,
      );
    }
    const f = fieldsOf(this.#source);
    f.proto = (f.proto & ~OPCODE_MASK) | value;
  }

  get origin(): OriginFlag {
    return (fieldsOf(this.#source).proto & ORIGIN_BIT) === 0 ? 0 : 1;
  }
  set origin(value: number) {
    setBit(this.#source, ORIGIN_BIT, checkFlag("origin", value));
  }

  get more(): MoreMessagesFlag {
    return (fieldsOf(this.#source).proto & MORE_BIT) === 0 ? 0 : 1;
  }
  set more(value: number) {
    setBit(this.#source, MORE_BIT, checkFlag("more", value));
  }

  get oob(): OobFlag {
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
 * The binary header of a message (spec §2.1, §3.1): `msg.bhdr`, a live view
 * of the message, or a standalone value (`new BinaryHeader()`,
 * `BinaryHeader.fromBytes`, the copy `post` returns). Every setter checks its
 * value and throws `AmpeError` for a wrong one.
 *
 * @example
 * ```ts
 * import { AmpeStatus, BinaryHeader } from "@tofu/tofu";
 * const h = new BinaryHeader();
 * h.channelNumber = 0x1234;
 * h.status = AmpeStatus.channelClosed;
 * h.messageId = 0xAABBCCDDEEFF0011n;
 * BinaryHeader.fromBytes(h.toBytes()).messageId; // 0xAABBCCDDEEFF0011n
 * ```
 */
export interface BinaryHeader {
  /**
   * The channel number, an integer 0..65535 (0: no channel yet). Other values
   * throw `AmpeError` (`invalidChannelNumber`).
   */
  channelNumber: number;

  /**
   * The status, an {@linkcode AmpeStatus}: what the engine (or the peer)
   * says about this message. A raw byte of 31 and above reads as
   * `unknownError`; `rawStatus` has the byte as is. Setting a value that is
   * not an integer 0..255 throws `AmpeError` (`invalidMessage`).
   */
  status: AmpeStatus;

  /**
   * The status byte as it is on the wire, an integer 0..255; other values
   * throw `AmpeError` (`invalidMessage`).
   */
  rawStatus: number;

  /**
   * The message id, a u64 as a `bigint` (`42n`). Leave it 0 on a message
   * you post and `post` assigns the next id of the process (returned in the
   * header `post` returns); a Response carries the id of its Request. A
   * value that is not a bigint 0..2^64-1 (or, for convenience at run time, a
   * non-negative safe integer) throws `AmpeError` (`invalidMessageId`).
   */
  messageId: bigint;

  /** The proto byte's fields: `opCode`, `origin`, `more`, `oob`. */
  readonly proto: ProtoFields;

  /** Text headers length: the current one for a live view, the recorded one otherwise. */
  readonly thl: number;

  /** Body length: the current one for a live view, the recorded one otherwise. */
  readonly bl: number;

  /** The 16 wire bytes of this header. */
  toBytes(): Uint8Array;
}

/** What makes a standalone {@linkcode BinaryHeader}: `new BinaryHeader()` and the two factories. */
export interface BinaryHeaderConstructor {
  /** A standalone all-zero header. */
  new (): BinaryHeader;
  /** The prototype of every header, so that `h instanceof BinaryHeader` works. */
  readonly prototype: BinaryHeader;
  /**
   * A standalone header for `op` as Zig's `BinaryHeader.init` makes it (the
   * oob bit for ByeSignal, the engine origin for WelcomeResponse); an invalid
   * `op` throws `AmpeError` (`invalidOpCode`).
   */
  init(op: OpCode): BinaryHeader;
  /**
   * A standalone header from the first 16 bytes of `bytes` (wire layout);
   * anything else than a `Uint8Array` of at least 16 bytes throws `AmpeError`
   * (`invalidMessage`).
   */
  fromBytes(bytes: Uint8Array): BinaryHeader;
}

/** Internal: the implementation of {@linkcode BinaryHeader}; `source` says where it reads. */
export class HeaderView implements BinaryHeader {
  #source: HeaderSource;

  constructor(source?: HeaderSource) {
    this.#source = source ?? new HeaderFields();
  }

  static init(op: OpCode): BinaryHeader {
    if (!isValidOpCode(op)) {
      throw new AmpeError(
        AmpeStatus.invalidOpCode,
        `OpCode must be an integer 0..9, got ${describeValue(op)}`,
      );
    }
    const f = new HeaderFields();
    f.proto = defaultProto(op);
    return new HeaderView(f);
  }

  static fromBytes(bytes: Uint8Array): BinaryHeader {
    if (!(bytes instanceof Uint8Array)) {
      throw new AmpeError(
        AmpeStatus.invalidMessage,
        `A binary header is read from a Uint8Array, got ${describeValue(bytes)}`,
      );
    }
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
    return new HeaderView(f);
  }

  get channelNumber(): number {
    return fieldsOf(this.#source).channelNumber;
  }
  set channelNumber(value: number) {
    if (!(Number.isInteger(value) && value >= 0 && value <= 0xffff)) {
      throw new AmpeError(
        AmpeStatus.invalidChannelNumber,
        `Channel number must be an integer 0..65535, got ${describeValue(value)}`,
      );
    }
    fieldsOf(this.#source).channelNumber = value;
  }

  get status(): AmpeStatus {
    return rawToStatus(fieldsOf(this.#source).status);
  }
  set status(value: number) {
    this.rawStatus = value;
  }

  get rawStatus(): number {
    return fieldsOf(this.#source).status;
  }
  set rawStatus(value: number) {
    if (!(Number.isInteger(value) && value >= 0 && value <= 0xff)) {
      throw new AmpeError(
        AmpeStatus.invalidMessage,
        `Status must be an integer 0..255, got ${describeValue(value)}`,
      );
    }
    fieldsOf(this.#source).status = value;
  }

  get messageId(): bigint {
    return getMessageId(fieldsOf(this.#source));
  }
  set messageId(value: bigint | number) {
    setMessageId(fieldsOf(this.#source), value);
  }

  get proto(): ProtoFields {
    fieldsOf(this.#source); // a handed-over message throws here too
    return new ProtoView(this.#source); // not kept: see Message.bhdr
  }

  get thl(): number {
    const f = fieldsOf(this.#source);
    return f instanceof HeaderFields ? f.thl : f.headers.length;
  }

  get bl(): number {
    const f = fieldsOf(this.#source);
    return f instanceof HeaderFields ? f.bl : f.body.length;
  }

  toBytes(): Uint8Array {
    const f = fieldsOf(this.#source);
    const out = new Uint8Array(HEADER_SIZE);
    encodeHeader(out, 0, f.channelNumber, f.proto, f.status, f.midHi, f.midLo, this.thl, this.bl);
    return out;
  }

  static {
    // console.log and util.inspect on both runtimes; not a typed member of the API.
    Object.defineProperty(HeaderView.prototype, INSPECT, {
      value(this: object): string {
        if (!(#source in this)) return "BinaryHeader";
        const source = this.#source;
        if (!(source instanceof HeaderFields) && storeLinkOf(source) === null) {
          return "BinaryHeader <handed over: post, put or updateReceiver took its message>";
        }
        return `BinaryHeader <${describeHeader(fieldsOf(source))}>`;
      },
    });
  }
}

/**
 * The binary header class: `new BinaryHeader()` makes a standalone all-zero
 * header; `BinaryHeader.init(op)` and `BinaryHeader.fromBytes(bytes)` make
 * the others. See {@linkcode BinaryHeader} for the fields.
 */
export const BinaryHeader: BinaryHeaderConstructor = HeaderView as BinaryHeaderConstructor;

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
  return new HeaderView(f);
}
