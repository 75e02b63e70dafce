/**
 * The layout of the proto byte (spec §3.2): bits 0-3 opCode, bit 4 origin,
 * bit 5 more, bit 6 oob, bit 7 unused. Internal; the public view is
 * `BinaryHeader.proto`.
 *
 * @module
 */

import { OpCode } from "./opcode.ts";

/** Bits 0-3: the opCode. */
export const OPCODE_MASK = 0x0f;
/** Bit 4: origin (1 = engine). */
export const ORIGIN_BIT = 0x10;
/** Bit 5: more messages follow. */
export const MORE_BIT = 0x20;
/** Bit 6: out of band (urgent). */
export const OOB_BIT = 0x40;

/**
 * The proto byte Zig's `ProtoFields.default(op)` makes: the opCode, plus the
 * oob bit for ByeSignal and the engine origin for WelcomeResponse.
 *
 * @example
 * ```ts
 * import { defaultProto } from "./proto.ts";
 * defaultProto(7); // 0x47
 * ```
 */
export function defaultProto(op: OpCode): number {
  if (op === OpCode.ByeSignal) return op | OOB_BIT;
  if (op === OpCode.WelcomeResponse) return op | ORIGIN_BIT;
  return op;
}
