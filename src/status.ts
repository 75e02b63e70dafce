/**
 * Status codes of tofu (`AmpeStatus`), with the same numeric values as the Zig
 * enum, and the conversions between raw status bytes, names and error codes.
 *
 * @module
 */

/**
 * Every status a message or an error can carry, with the values of the Zig
 * enum: the u8 codes of the wire `status` byte; 0 is success. Each member is
 * a literal type, so `msg.bhdr.status === AmpeStatus.channelClosed` and a
 * `switch` over a status narrow.
 *
 * @example
 * ```ts
 * import { AmpeStatus } from "@tofu/tofu";
 * AmpeStatus.channelClosed; // 22
 * ```
 */
export const AmpeStatus: {
  /** 0: the message is fine; no error. */
  readonly success: 0;
  /** 1: the operation is not implemented yet. */
  readonly notImplementedYet: 1;
  /** 2: an address is malformed (e.g. bad port, empty listen ip). */
  readonly wrongAddress: 2;
  /** 3: the operation is not allowed here. */
  readonly notAllowed: 3;
  /** 4: no message: a handed-over (or missing) message object was used. */
  readonly nullMessage: 4;
  /** 5: the message or a value given to the API is malformed. */
  readonly invalidMessage: 5;
  /** 6: the opCode is not 0..9, or not allowed in this place. */
  readonly invalidOpCode: 6;
  /** 7: the text headers exceed 65535 bytes. */
  readonly invalidHeadersLen: 7;
  /** 8: the body exceeds 65535 bytes. */
  readonly invalidBodyLen: 8;
  /** 9: the more flag was set where it is not allowed. */
  readonly invalidMoreUsage: 9;
  /** 10: the channel number is missing, unknown or out of range. */
  readonly invalidChannelNumber: 10;
  /** 11: the channel (or group) belongs to another channel group or engine; Zig spells it `invelid_mchn_group`. */
  readonly invalidMessageChannelGroup: 11;
  /** 12: the message id is not a u64, or does not match. */
  readonly invalidMessageId: 12;
  /** 13: the address cannot be used (e.g. a UDS path too long). */
  readonly invalidAddress: 13;
  /** 14: the Unix socket path does not exist. */
  readonly udsPathNotFound: 14;
  /** 15: notifications are disabled. */
  readonly notificationDisabled: 15;
  /** 16: the engine could not notify the app. */
  readonly notificationFailed: 16;
  /** 17: the peer closed the connection. */
  readonly peerDisconnected: 17;
  /** 18: sending or receiving failed. */
  readonly communicationFailed: 18;
  /** 19: the message pool had no message for a receive. */
  readonly poolEmpty: 19;
  /** 20: memory could not be allocated. */
  readonly allocationFailed: 20;
  /** 21: a message put into the queue by `updateReceiver`. */
  readonly receiverUpdate: 21;
  /** 22: the channel is closed (the final Signal of every channel). */
  readonly channelClosed: 22;
  /** 23: the engine or the group is being destroyed. */
  readonly shutdownStarted: 23;
  /** 24: the connect failed (e.g. refused). */
  readonly connectFailed: 24;
  /** 25: the listen failed (e.g. the address is in use). */
  readonly listenFailed: 25;
  /** 26: accepting a connection failed. */
  readonly acceptFailed: 26;
  /** 27: sending failed. */
  readonly sendFailed: 27;
  /** 28: receiving failed. */
  readonly recvFailed: 28;
  /** 29: setting a socket option failed. */
  readonly setsockoptFailed: 29;
  /** 30: the app could not process the message. */
  readonly processingFailed: 30;
  /** 31: any other failure; also every raw status byte of 31 and above. */
  readonly unknownError: 31;
} = {
  success: 0,
  notImplementedYet: 1,
  wrongAddress: 2,
  notAllowed: 3,
  nullMessage: 4,
  invalidMessage: 5,
  invalidOpCode: 6,
  invalidHeadersLen: 7,
  invalidBodyLen: 8,
  invalidMoreUsage: 9,
  invalidChannelNumber: 10,
  invalidMessageChannelGroup: 11,
  invalidMessageId: 12,
  invalidAddress: 13,
  udsPathNotFound: 14,
  notificationDisabled: 15,
  notificationFailed: 16,
  peerDisconnected: 17,
  communicationFailed: 18,
  poolEmpty: 19,
  allocationFailed: 20,
  receiverUpdate: 21,
  channelClosed: 22,
  shutdownStarted: 23,
  connectFailed: 24,
  listenFailed: 25,
  acceptFailed: 26,
  sendFailed: 27,
  recvFailed: 28,
  setsockoptFailed: 29,
  processingFailed: 30,
  unknownError: 31,
};

/**
 * A status value: the literal union `0 | 1 | ... | 31` of {@linkcode AmpeStatus}'s
 * members, so a `switch` over a status narrows.
 */
export type AmpeStatus = typeof AmpeStatus[keyof typeof AmpeStatus];

/** The name of a status: a key of {@linkcode AmpeStatus}. */
export type AmpeStatusName = keyof typeof AmpeStatus;

// Index = status value. Both tables are written out so they read like the spec table.
const STATUS_NAMES: readonly AmpeStatusName[] = [
  "success",
  "notImplementedYet",
  "wrongAddress",
  "notAllowed",
  "nullMessage",
  "invalidMessage",
  "invalidOpCode",
  "invalidHeadersLen",
  "invalidBodyLen",
  "invalidMoreUsage",
  "invalidChannelNumber",
  "invalidMessageChannelGroup",
  "invalidMessageId",
  "invalidAddress",
  "udsPathNotFound",
  "notificationDisabled",
  "notificationFailed",
  "peerDisconnected",
  "communicationFailed",
  "poolEmpty",
  "allocationFailed",
  "receiverUpdate",
  "channelClosed",
  "shutdownStarted",
  "connectFailed",
  "listenFailed",
  "acceptFailed",
  "sendFailed",
  "recvFailed",
  "setsockoptFailed",
  "processingFailed",
  "unknownError",
];

// The Zig error names (`AmpeError`); index 0 has no error and is never used as a code.
const ERROR_NAMES: readonly string[] = [
  "Success",
  "NotImplementedYet",
  "WrongAddress",
  "NotAllowed",
  "NullMessage",
  "InvalidMessage",
  "InvalidOpCode",
  "InvalidHeadersLen",
  "InvalidBodyLen",
  "InvalidMoreUsage",
  "InvalidChannelNumber",
  "InvalidMessageChannelGroup",
  "InvalidMessageId",
  "InvalidAddress",
  "UDSPathNotFound",
  "NotificationDisabled",
  "NotificationFailed",
  "PeerDisconnected",
  "CommunicationFailed",
  "PoolEmpty",
  "AllocationFailed",
  "ReceiverUpdate",
  "ChannelClosed",
  "ShutdownStarted",
  "ConnectFailed",
  "ListenFailed",
  "AcceptFailed",
  "SendFailed",
  "RecvFailed",
  "SetsockoptFailed",
  "ProcessingFailed",
  "UnknownError",
];

/**
 * Maps a raw status byte to a status: values 0..30 map to themselves, anything
 * else (31 and above, negative or non-integer) to `unknownError`.
 *
 * @example
 * ```ts
 * import { AmpeStatus, rawToStatus } from "@tofu/tofu";
 * rawToStatus(22) === AmpeStatus.channelClosed; // true
 * rawToStatus(200) === AmpeStatus.unknownError; // true
 * ```
 */
export function rawToStatus(raw: number): AmpeStatus {
  return (Number.isInteger(raw) && raw >= 0 && raw < AmpeStatus.unknownError
    ? raw
    : AmpeStatus.unknownError) as AmpeStatus;
}

/**
 * The camelCase name of a raw status byte (`"channelClosed"` for 22);
 * out-of-range values give `"unknownError"`.
 *
 * @example
 * ```ts
 * import { statusName } from "@tofu/tofu";
 * statusName(19); // "poolEmpty"
 * ```
 */
export function statusName(raw: number): AmpeStatusName {
  return STATUS_NAMES[rawToStatus(raw)] ?? "unknownError";
}

/**
 * The Zig error name of a raw status byte (`"ChannelClosed"` for 22,
 * `"InvalidMessageChannelGroup"` for 11); 0 gives `"Success"`, out-of-range
 * values give `"UnknownError"`. This is the `code` of an `AmpeError`.
 *
 * @example
 * ```ts
 * import { errorName } from "@tofu/tofu";
 * errorName(23); // "ShutdownStarted"
 * ```
 */
export function errorName(raw: number): string {
  return ERROR_NAMES[rawToStatus(raw)] ?? "UnknownError";
}

/**
 * The status of a Zig error name (`"PoolEmpty"` gives 19); an unknown name
 * gives `unknownError`, like Zig's `errorToStatus`.
 *
 * @example
 * ```ts
 * import { AmpeStatus, errorNameToStatus } from "./status.ts";
 * errorNameToStatus("ShutdownStarted") === AmpeStatus.shutdownStarted; // true
 * ```
 */
export function errorNameToStatus(name: string): AmpeStatus {
  const index = ERROR_NAMES.indexOf(name);
  return (index > 0 ? index : AmpeStatus.unknownError) as AmpeStatus;
}
