/**
 * Status codes of tofu (`AmpeStatus`), with the same numeric values as the Zig
 * enum, and the conversions between raw status bytes, names and error codes.
 *
 * @module
 */

/**
 * Every status a message or an error can carry. The values are the u8 codes
 * of the wire `status` byte; 0 is success.
 *
 * @example
 * ```ts
 * import { AmpeStatus } from "./status.ts";
 * AmpeStatus.channelClosed; // 22
 * ```
 */
export const AmpeStatus = {
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
  /** Zig spells it `invelid_mchn_group`; the value is what matters. */
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
} as const;

/** A numeric status value (0..31). */
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
 * import { AmpeStatus, rawToStatus } from "./status.ts";
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
 * import { statusName } from "./status.ts";
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
 * import { errorName } from "./status.ts";
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
