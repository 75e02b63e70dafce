/**
 * What a message is: its `OpCode` and the type, role and flags derived from
 * it, with the same values as the Zig enums.
 *
 * @module
 */

import { AmpeError } from "./ampe_error.ts";
import { AmpeStatus } from "./status.ts";

/**
 * The 4-bit operation code of a message (spec §2.2), as a const object whose
 * members are literal types: a `switch` on `msg.bhdr.proto.opCode` narrows
 * in each `case OpCode.X:`. Values 10..15 are invalid.
 *
 * @example
 * ```ts
 * import { OpCode } from "@tofu/tofu";
 * OpCode.HelloRequest; // 3
 * ```
 */
export const OpCode: {
  /** 0: asks the peer for something; answered by a Response with the same message id. */
  readonly Request: 0;
  /** 1: answers a Request (`more` set while further Responses follow). */
  readonly Response: 1;
  /** 2: informs, expects no answer. The engine's notices are Signals too. */
  readonly Signal: 2;
  /** 3: opens a channel to a server (the address in `~connect_to`). */
  readonly HelloRequest: 3;
  /** 4: the server's answer to a HelloRequest: the channel is open. */
  readonly HelloResponse: 4;
  /** 5: asks the peer to close the channel gracefully. */
  readonly ByeRequest: 5;
  /** 6: the answer to a ByeRequest; the channel closes. */
  readonly ByeResponse: 6;
  /** 7: closes the channel at once (sent out of band). */
  readonly ByeSignal: 7;
  /** 8: starts a listener (the address in `~listen_on`). */
  readonly WelcomeRequest: 8;
  /** 9: the engine's answer to a WelcomeRequest: listening. */
  readonly WelcomeResponse: 9;
} = {
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
};

/** A valid opCode value (0..9). */
export type OpCode = typeof OpCode[keyof typeof OpCode];

/** The family of an opCode. */
export const MessageType: {
  /** 0: Request, Response, Signal. */
  readonly regular: 0;
  /** 1: WelcomeRequest, WelcomeResponse. */
  readonly welcome: 1;
  /** 2: HelloRequest, HelloResponse. */
  readonly hello: 2;
  /** 3: ByeRequest, ByeResponse, ByeSignal. */
  readonly bye: 3;
} = { regular: 0, welcome: 1, hello: 2, bye: 3 };

/** A {@linkcode MessageType} value. */
export type MessageType = typeof MessageType[keyof typeof MessageType];

/** Whether an opCode asks, answers or informs. */
export const MessageRole: {
  /** 0: Request, HelloRequest, ByeRequest, WelcomeRequest. */
  readonly request: 0;
  /** 1: Response, HelloResponse, ByeResponse, WelcomeResponse. */
  readonly response: 1;
  /** 2: Signal, ByeSignal. */
  readonly signal: 2;
} = { request: 0, response: 1, signal: 2 };

/** A {@linkcode MessageRole} value. */
export type MessageRole = typeof MessageRole[keyof typeof MessageRole];

/** Who made a message (`msg.bhdr.proto.origin`). */
export const OriginFlag: {
  /** 0: an application made it. */
  readonly application: 0;
  /** 1: the engine made it (a notice, a failure, a WelcomeResponse). */
  readonly engine: 1;
} = { application: 0, engine: 1 };

/** An {@linkcode OriginFlag} value. */
export type OriginFlag = typeof OriginFlag[keyof typeof OriginFlag];

/**
 * Whether more messages of the same exchange follow (`msg.bhdr.proto.more`);
 * informational: the engine never reassembles.
 */
export const MoreMessagesFlag: {
  /** 0: the last (or only) message of the exchange. */
  readonly last: 0;
  /** 1: more messages with the same message id follow. */
  readonly more: 1;
} = { last: 0, more: 1 };

/** A {@linkcode MoreMessagesFlag} value. */
export type MoreMessagesFlag = typeof MoreMessagesFlag[keyof typeof MoreMessagesFlag];

/** The "out of band" (urgent) bit of the proto byte (`msg.bhdr.proto.oob`). */
export const OobFlag: {
  /** 0: sent in order. */
  readonly off: 0;
  /** 1: urgent: sent ahead of the channel's queued messages. */
  readonly on: 1;
} = { off: 0, on: 1 };

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
 * import { isValidOpCode } from "@tofu/tofu";
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
 * import { getType, MessageType, OpCode } from "@tofu/tofu";
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
 * import { getRole, MessageRole, OpCode } from "@tofu/tofu";
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
 * import { isRequest, OpCode } from "@tofu/tofu";
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
 * import { isResponse, OpCode } from "@tofu/tofu";
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
 * import { isSignal, OpCode } from "@tofu/tofu";
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
 * import { echo, OpCode } from "@tofu/tofu";
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
