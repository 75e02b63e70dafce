// Statuses and AmpeError: spec §2.3, scenario S-010.
import { test } from "node:test";
import assert from "node:assert/strict";
import {
  AmpeStatus,
  errorName,
  errorNameToStatus,
  rawToStatus,
  statusName,
} from "../src/status.ts";
import { AmpeError, errorToStatus, rawToError } from "../src/ampe_error.ts";

// [key, value, Zig error name] exactly as the spec §2.3 table.
const TABLE: [keyof typeof AmpeStatus, number, string][] = [
  ["success", 0, "Success"],
  ["notImplementedYet", 1, "NotImplementedYet"],
  ["wrongAddress", 2, "WrongAddress"],
  ["notAllowed", 3, "NotAllowed"],
  ["nullMessage", 4, "NullMessage"],
  ["invalidMessage", 5, "InvalidMessage"],
  ["invalidOpCode", 6, "InvalidOpCode"],
  ["invalidHeadersLen", 7, "InvalidHeadersLen"],
  ["invalidBodyLen", 8, "InvalidBodyLen"],
  ["invalidMoreUsage", 9, "InvalidMoreUsage"],
  ["invalidChannelNumber", 10, "InvalidChannelNumber"],
  ["invalidMessageChannelGroup", 11, "InvalidMessageChannelGroup"],
  ["invalidMessageId", 12, "InvalidMessageId"],
  ["invalidAddress", 13, "InvalidAddress"],
  ["udsPathNotFound", 14, "UDSPathNotFound"],
  ["notificationDisabled", 15, "NotificationDisabled"],
  ["notificationFailed", 16, "NotificationFailed"],
  ["peerDisconnected", 17, "PeerDisconnected"],
  ["communicationFailed", 18, "CommunicationFailed"],
  ["poolEmpty", 19, "PoolEmpty"],
  ["allocationFailed", 20, "AllocationFailed"],
  ["receiverUpdate", 21, "ReceiverUpdate"],
  ["channelClosed", 22, "ChannelClosed"],
  ["shutdownStarted", 23, "ShutdownStarted"],
  ["connectFailed", 24, "ConnectFailed"],
  ["listenFailed", 25, "ListenFailed"],
  ["acceptFailed", 26, "AcceptFailed"],
  ["sendFailed", 27, "SendFailed"],
  ["recvFailed", 28, "RecvFailed"],
  ["setsockoptFailed", 29, "SetsockoptFailed"],
  ["processingFailed", 30, "ProcessingFailed"],
  ["unknownError", 31, "UnknownError"],
];

test("AmpeStatus has exactly the Zig numbering with camelCase keys", () => {
  assert.deepEqual(Object.entries(AmpeStatus), TABLE.map(([k, v]) => [k, v]));
});

test("statusName and errorName map every raw value of the table", () => {
  for (const [key, value, zig] of TABLE) {
    assert.equal(statusName(value), key);
    assert.equal(errorName(value), zig);
    assert.equal(rawToStatus(value), value);
  }
});

test("S-010: raw 0, 22, 11, 31 and 200 convert as in Zig", () => {
  assert.equal(rawToStatus(0), AmpeStatus.success);
  assert.equal(rawToError(0), undefined);
  assert.equal(rawToStatus(22), AmpeStatus.channelClosed);
  assert.equal(rawToError(22)?.code, "ChannelClosed");
  assert.equal(rawToStatus(11), AmpeStatus.invalidMessageChannelGroup);
  assert.equal(rawToError(11)?.code, "InvalidMessageChannelGroup");
  assert.equal(rawToStatus(31), AmpeStatus.unknownError);
  assert.equal(rawToError(31)?.code, "UnknownError");
  assert.equal(rawToStatus(200), AmpeStatus.unknownError);
  assert.equal(statusName(200), "unknownError");
  assert.equal(rawToError(200)?.code, "UnknownError");
  assert.equal(rawToError(200)?.status, AmpeStatus.unknownError);
});

test("S-010: errorToStatus of PoolEmpty is 19 and of ShutdownStarted is 23", () => {
  assert.equal(errorNameToStatus("PoolEmpty"), 19);
  assert.equal(errorNameToStatus("ShutdownStarted"), 23);
  assert.equal(errorNameToStatus("NoSuchError"), AmpeStatus.unknownError);
  assert.equal(errorToStatus(new AmpeError(AmpeStatus.poolEmpty)), 19);
  assert.equal(errorToStatus(new AmpeError(AmpeStatus.shutdownStarted)), 23);
  assert.equal(errorToStatus(new TypeError("not tofu")), AmpeStatus.unknownError);
  assert.equal(errorToStatus("a string"), AmpeStatus.unknownError);
});

test("rawToStatus maps negative and fractional values to unknownError", () => {
  assert.equal(rawToStatus(-1), AmpeStatus.unknownError);
  assert.equal(rawToStatus(2.5), AmpeStatus.unknownError);
  assert.equal(rawToStatus(Number.NaN), AmpeStatus.unknownError);
});

test("AmpeError carries name, status, code, message and cause", () => {
  const cause = new Error("socket gone");
  const e = new AmpeError(AmpeStatus.channelClosed, "Channel 7 closed", { cause });
  assert.ok(e instanceof Error);
  assert.ok(e instanceof AmpeError);
  assert.equal(e.name, "AmpeError");
  assert.equal(e.status, 22);
  assert.equal(e.code, "ChannelClosed");
  assert.equal(e.message, "Channel 7 closed");
  assert.equal(e.cause, cause);
});

test("AmpeError has a default message, an optional finer code and no cause unless given", () => {
  const plain = new AmpeError(AmpeStatus.poolEmpty);
  assert.equal(plain.message, "Message pool is empty");
  assert.equal("cause" in plain, false);
  const bad = new AmpeError(AmpeStatus.invalidMessage, "Empty name", { code: "BadName" });
  assert.equal(bad.code, "BadName");
  assert.equal(bad.status, AmpeStatus.invalidMessage);
  const clamped = new AmpeError(99);
  assert.equal(clamped.status, AmpeStatus.unknownError);
  assert.equal(clamped.code, "UnknownError");
});
