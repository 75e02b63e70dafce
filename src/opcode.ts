/**
 * What a message is: its `OpCode` and the type, role and flags derived from
 * it, with the same values as the Zig enums.
 *
 * @module
 */

import { AmpeError } from "./ampe_error.ts";
import { AmpeStatus } from "./status.ts";

/**
 * The 4-bit operation code of a message. Values 10..15 are invalid.
 *
 * @example
 * ```ts
 * import { OpCode } from "./opcode.ts";
 * OpCode.HelloRequest; // 3
 * ```
 */
export const OpCode = {
  Request: 0,
  Response: 1,
  Signal: 2,
  HelloRequest: 3,
  HelloResponse: 4,
  ByeRequest: 5,
  ByeResponse: 6,
  ByeSignal: 7,
  WelcomeRequest: 8,
  WelcomeResponse: 9,
} as const;

/** A valid opCode value (0..9). */
export type OpCode = typeof OpCode[keyof typeof OpCode];

/** The family of an opCode. */
export const MessageType = { regular: 0, welcome: 1, hello: 2, bye: 3 } as const;

/** A {@linkcode MessageType} value. */
export type MessageType = typeof MessageType[keyof typeof MessageType];

/** Whether an opCode asks, answers or informs. */
export const MessageRole = { request: 0, response: 1, signal: 2 } as const;

/** A {@linkcode MessageRole} value. */
export type MessageRole = typeof MessageRole[keyof typeof MessageRole];

/** Who made a message: the application (0) or the engine (1). */
export const OriginFlag = { application: 0, engine: 1 } as const;

/** An {@linkcode OriginFlag} value. */
export type OriginFlag = typeof OriginFlag[keyof typeof OriginFlag];

/** Whether more messages of the same exchange follow (informational; the engine never reassembles). */
export const MoreMessagesFlag = { last: 0, more: 1 } as const;

/** A {@linkcode MoreMessagesFlag} value. */
export type MoreMessagesFlag = typeof MoreMessagesFlag[keyof typeof MoreMessagesFlag];

/** The "out of band" (urgent) bit of the proto byte. */
export const OobFlag = { off: 0, on: 1 } as const;

/** An {@linkcode OobFlag} value. */
export type OobFlag = typeof OobFlag[keyof typeof OobFlag];

// Index = opCode; written out so the tables read like spec §2.2.
const TYPES: readonly MessageType[] = [0, 0, 0, 2, 2, 3, 3, 3, 1, 1];
const ROLES: readonly MessageRole[] = [0, 1, 2, 0, 1, 0, 1, 2, 0, 1];
const ECHOES: readonly (OpCode | undefined)[] = [
  OpCode.Response,
  undefined,
  OpCode.Signal,
  OpCode.HelloResponse,
  undefined,
  OpCode.ByeResponse,
  undefined,
  undefined,
  OpCode.WelcomeResponse,
  undefined,
];

/**
 * True for the ten defined opCodes (integers 0..9).
 *
 * @example
 * ```ts
 * import { isValidOpCode } from "./opcode.ts";
 * isValidOpCode(9); // true
 * isValidOpCode(12); // false
 * ```
 */
export function isValidOpCode(op: number): op is OpCode {
  return Number.isInteger(op) && op >= 0 && op <= OpCode.WelcomeResponse;
}

function valid(op: number): OpCode {
  if (!isValidOpCode(op)) {
    throw new AmpeError(AmpeStatus.invalidOpCode, `OpCode must be an integer 0..9, got ${op}`);
  }
  return op;
}

/**
 * The type of an opCode (regular, hello, bye, welcome); throws `AmpeError`
 * (`invalidOpCode`) for an invalid one.
 *
 * @example
 * ```ts
 * import { getType, MessageType, OpCode } from "./opcode.ts";
 * getType(OpCode.ByeSignal) === MessageType.bye; // true
 * ```
 */
export function getType(op: number): MessageType {
  return TYPES[valid(op)] ?? MessageType.regular;
}

/**
 * The role of an opCode (request, response, signal); throws `AmpeError`
 * (`invalidOpCode`) for an invalid one.
 *
 * @example
 * ```ts
 * import { getRole, MessageRole, OpCode } from "./opcode.ts";
 * getRole(OpCode.HelloResponse) === MessageRole.response; // true
 * ```
 */
export function getRole(op: number): MessageRole {
  return ROLES[valid(op)] ?? MessageRole.request;
}

/**
 * True for Request, HelloRequest, ByeRequest and WelcomeRequest.
 *
 * @example
 * ```ts
 * import { isRequest, OpCode } from "./opcode.ts";
 * isRequest(OpCode.WelcomeRequest); // true
 * ```
 */
export function isRequest(op: number): boolean {
  return isValidOpCode(op) && ROLES[op] === MessageRole.request;
}

/**
 * True for Response, HelloResponse, ByeResponse and WelcomeResponse.
 *
 * @example
 * ```ts
 * import { isResponse, OpCode } from "./opcode.ts";
 * isResponse(OpCode.ByeResponse); // true
 * ```
 */
export function isResponse(op: number): boolean {
  return isValidOpCode(op) && ROLES[op] === MessageRole.response;
}

/**
 * True for Signal and ByeSignal.
 *
 * @example
 * ```ts
 * import { isSignal, OpCode } from "./opcode.ts";
 * isSignal(OpCode.ByeSignal); // true
 * ```
 */
export function isSignal(op: number): boolean {
  return isValidOpCode(op) && ROLES[op] === MessageRole.signal;
}

/**
 * The opCode that answers `op`: Request → Response, Signal → Signal,
 * HelloRequest → HelloResponse, ByeRequest → ByeResponse, WelcomeRequest →
 * WelcomeResponse. Every other value throws `AmpeError` (`invalidOpCode`).
 *
 * @example
 * ```ts
 * import { echo, OpCode } from "./opcode.ts";
 * echo(OpCode.Request) === OpCode.Response; // true
 * ```
 */
export function echo(op: number): OpCode {
  const answer = ECHOES[valid(op)];
  if (answer === undefined) {
    throw new AmpeError(AmpeStatus.invalidOpCode, `OpCode ${op} has no echo: it is not a request`);
  }
  return answer;
}
