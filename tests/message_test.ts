// Message model: opCodes, proto byte, binary header fields, text headers, body, ownership,
// message ids and the post() checks of spec §8 (scenarios S-001..S-011, S-024..S-030).
import { test } from "node:test";
import assert from "node:assert/strict";
import { AmpeError } from "../src/ampe_error.ts";
import { AmpeStatus } from "../src/status.ts";
import {
  echo,
  getRole,
  getType,
  isRequest,
  isResponse,
  isSignal,
  isValidOpCode,
  MessageRole,
  MessageType,
  MoreMessagesFlag,
  OobFlag,
  OpCode,
  OriginFlag,
} from "../src/opcode.ts";
import { defaultProto } from "../src/proto.ts";
import { BinaryHeader, snapshotHeader } from "../src/binary_header.ts";
import { checkAndPrepare, detachStore, Message, storeOf, wrapStore } from "../src/message.ts";
import { MessageStore } from "../src/message_store.ts";
import { setBytes } from "../src/byte_buffer.ts";
import { nextMessageId } from "../src/message_id.ts";

/** Asserts that `fn` throws an AmpeError with `status` (and `code` when given). */
/** Writes any value to a typed field, as a JavaScript caller can; the setter checks it. */
function setRaw<T extends object>(target: T, field: keyof T, value: unknown): void {
  (target as Record<keyof T, unknown>)[field] = value;
}

function throwsAmpe(fn: () => unknown, status: number, code?: string): AmpeError {
  let caught: unknown;
  try {
    fn();
  } catch (e) {
    caught = e;
  }
  assert.ok(caught instanceof AmpeError, `expected an AmpeError, got ${String(caught)}`);
  assert.equal(caught.status, status, caught.message);
  if (code !== undefined) assert.equal(caught.code, code);
  return caught;
}

const utf8 = new TextEncoder();

function withRawHeaders(text: string): Message {
  const m = Message.create();
  const raw = utf8.encode(text);
  setBytes(storeOf(m).headers, raw, 0, raw.length);
  return m;
}

function headersOf(m: Message): [string, string][] {
  return [...m.thdrs].map(({ name, value }) => [name, value]);
}

// ---------------------------------------------------------------- S-001, S-002

test("S-001: opCode values, types, roles and echo", () => {
  assert.deepEqual(Object.values(OpCode), [0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
  const types = [0, 0, 0, 2, 2, 3, 3, 3, 1, 1];
  const roles = [0, 1, 2, 0, 1, 0, 1, 2, 0, 1];
  for (let op = 0; op <= 9; op++) {
    assert.equal(getType(op), types[op]);
    assert.equal(getRole(op), roles[op]);
    assert.equal(isRequest(op), roles[op] === MessageRole.request);
    assert.equal(isResponse(op), roles[op] === MessageRole.response);
    assert.equal(isSignal(op), roles[op] === MessageRole.signal);
  }
  assert.equal(getType(OpCode.WelcomeRequest), MessageType.welcome);
  assert.equal(getType(OpCode.HelloResponse), MessageType.hello);
  assert.equal(getType(OpCode.ByeSignal), MessageType.bye);
  assert.equal(echo(OpCode.Request), OpCode.Response);
  assert.equal(echo(OpCode.Signal), OpCode.Signal);
  assert.equal(echo(OpCode.HelloRequest), OpCode.HelloResponse);
  assert.equal(echo(OpCode.ByeRequest), OpCode.ByeResponse);
  assert.equal(echo(OpCode.WelcomeRequest), OpCode.WelcomeResponse);
  for (const op of [1, 4, 6, 7, 9]) {
    throwsAmpe(() => echo(op), AmpeStatus.invalidOpCode, "InvalidOpCode");
  }
});

test("S-001: opCodes 10..15 are invalid everywhere", () => {
  for (let op = 10; op <= 15; op++) {
    assert.equal(isValidOpCode(op), false);
    assert.equal(isRequest(op), false);
    assert.equal(isResponse(op), false);
    assert.equal(isSignal(op), false);
    throwsAmpe(() => getType(op), AmpeStatus.invalidOpCode);
    throwsAmpe(() => getRole(op), AmpeStatus.invalidOpCode);
    throwsAmpe(() => echo(op), AmpeStatus.invalidOpCode);
  }
  assert.equal(isValidOpCode(-1), false);
  assert.equal(isValidOpCode(1.5), false);
});

test("S-002: proto byte encoding of the pinned examples", () => {
  assert.equal(defaultProto(OpCode.Request), 0x00);
  assert.equal(defaultProto(OpCode.HelloRequest), 0x03);
  assert.equal(defaultProto(OpCode.HelloResponse), 0x04);
  assert.equal(defaultProto(OpCode.ByeSignal), 0x47);
  const h = new BinaryHeader();
  h.proto.opCode = OpCode.Response;
  h.proto.origin = OriginFlag.engine;
  assert.equal(h.toBytes()[2], 0x11);
  const r = new BinaryHeader();
  r.proto.more = MoreMessagesFlag.more;
  assert.equal(r.toBytes()[2], 0x20);
  assert.equal(BinaryHeader.init(OpCode.ByeSignal).toBytes()[2], 0x47);
  assert.equal(BinaryHeader.init(OpCode.HelloRequest).toBytes()[2], 0x03);
});

test("S-002: decoding 0x47 gives ByeSignal, origin A, more last, oob on", () => {
  const bytes = new Uint8Array(16);
  bytes[2] = 0x47;
  const p = BinaryHeader.fromBytes(bytes).proto;
  assert.equal(p.opCode, OpCode.ByeSignal);
  assert.equal(p.origin, OriginFlag.application);
  assert.equal(p.more, MoreMessagesFlag.last);
  assert.equal(p.oob, OobFlag.on);
  bytes[2] = 0x0c;
  assert.equal(isValidOpCode(BinaryHeader.fromBytes(bytes).proto.opCode), false);
});

test("proto setters change only their own bits and reject out-of-range values", () => {
  const h = new BinaryHeader();
  setRaw(h.proto, "opCode", 0x0f);
  h.proto.oob = 1;
  h.proto.more = 1;
  h.proto.origin = 1;
  assert.equal(h.toBytes()[2], 0x7f);
  h.proto.more = 0;
  assert.equal(h.toBytes()[2], 0x5f);
  h.proto.opCode = OpCode.Signal;
  assert.equal(h.toBytes()[2], 0x52);
  throwsAmpe(() => setRaw(h.proto, "opCode", 16), AmpeStatus.invalidOpCode);
  throwsAmpe(() => setRaw(h.proto, "opCode", -1), AmpeStatus.invalidOpCode);
  throwsAmpe(() => setRaw(h.proto, "origin", 2), AmpeStatus.invalidMessage);
  throwsAmpe(() => setRaw(h.proto, "more", 2), AmpeStatus.invalidMessage);
  throwsAmpe(() => setRaw(h.proto, "oob", -1), AmpeStatus.invalidMessage);
  assert.equal(h.toBytes()[2], 0x52);
});

// ---------------------------------------------------------------- binary header fields

test("a fresh message has an all-zero header, no headers and no body", () => {
  const m = Message.create();
  assert.equal(m.bhdr.channelNumber, 0);
  assert.equal(m.bhdr.status, 0);
  assert.equal(m.bhdr.messageId, 0n);
  assert.equal(m.bhdr.proto.opCode, OpCode.Request);
  assert.equal(m.bhdr.proto.origin, OriginFlag.application);
  assert.equal(m.bhdr.proto.more, MoreMessagesFlag.last);
  assert.equal(m.bhdr.thl, 0);
  assert.equal(m.bhdr.bl, 0);
  assert.deepEqual([...m.bhdr.toBytes()], new Array(16).fill(0));
  assert.equal(m.thdrs.byteLength, 0);
  assert.equal(m.body.byteLength, 0);
  assert.equal(m.body.bytes().length, 0);
  assert.ok(new Message() instanceof Message);
});

test("channel number accepts 0..65535 integers only", () => {
  const h = Message.create().bhdr;
  h.channelNumber = 65535;
  assert.equal(h.channelNumber, 65535);
  for (const bad of [65536, -1, 1.5, Number.NaN]) {
    throwsAmpe(() => (h.channelNumber = bad), AmpeStatus.invalidChannelNumber);
  }
  assert.equal(h.channelNumber, 65535);
});

test("status accepts 0..255 integers only; above 30 it reads as unknownError, raw as is", () => {
  const h = Message.create().bhdr;
  h.status = AmpeStatus.channelClosed;
  assert.equal(h.status, AmpeStatus.channelClosed);
  assert.equal(h.rawStatus, 22);
  h.rawStatus = 255;
  assert.equal(h.status, AmpeStatus.unknownError);
  assert.equal(h.rawStatus, 255);
  assert.equal(h.toBytes()[3], 255);
  for (const bad of [256, -1, 0.5]) {
    throwsAmpe(() => setRaw(h, "status", bad), AmpeStatus.invalidMessage);
    throwsAmpe(() => (h.rawStatus = bad), AmpeStatus.invalidMessage);
  }
  assert.equal(h.rawStatus, 255);
});

test("message id covers the full u64 range as bigint and takes safe integers", () => {
  const h = Message.create().bhdr;
  for (
    const id of [
      0n,
      1n,
      0xffff_ffffn,
      0x1_0000_0000n,
      2n ** 53n + 1n,
      0xAABBCCDDEEFF0011n,
      2n ** 64n - 1n,
    ]
  ) {
    h.messageId = id;
    assert.equal(h.messageId, id);
  }
  setRaw(h, "messageId", 42); // a safe integer is accepted at run time
  assert.equal(h.messageId, 42n);
  setRaw(h, "messageId", Number.MAX_SAFE_INTEGER);
  assert.equal(h.messageId, BigInt(Number.MAX_SAFE_INTEGER));
  for (const bad of [2n ** 64n, -1n, -1, 1.5, 2 ** 53, Number.POSITIVE_INFINITY]) {
    throwsAmpe(() => setRaw(h, "messageId", bad), AmpeStatus.invalidMessageId, "InvalidMessageId");
  }
  assert.equal(h.messageId, BigInt(Number.MAX_SAFE_INTEGER));
});

test("thl and bl of a live header follow the headers and the body", () => {
  const m = Message.create();
  m.thdrs.append("a", "b");
  m.body.append("xyz");
  assert.equal(m.bhdr.thl, 5);
  assert.equal(m.bhdr.bl, 3);
  m.body.reset();
  assert.equal(m.bhdr.bl, 0);
});

test("snapshotHeader copies the header and is not affected by later changes", () => {
  const m = Message.create();
  m.bhdr.channelNumber = 9;
  m.bhdr.messageId = 2n ** 63n;
  m.thdrs.append("k", "v");
  m.body.append("hello");
  const snap = snapshotHeader(storeOf(m));
  m.bhdr.channelNumber = 1;
  m.body.reset();
  assert.equal(snap.channelNumber, 9);
  assert.equal(snap.messageId, 2n ** 63n);
  assert.equal(snap.thl, 5);
  assert.equal(snap.bl, 5);
});

test("BinaryHeader.fromBytes needs 16 bytes", () => {
  throwsAmpe(() => BinaryHeader.fromBytes(new Uint8Array(15)), AmpeStatus.invalidMessage);
});

// ---------------------------------------------------------------- message ids

test("S-004: consecutive ids differ by exactly 1 and are positive", () => {
  const a = nextMessageId(new MessageStore());
  const b = nextMessageId(new MessageStore());
  assert.ok(a > 0);
  assert.equal(b, a + 1);
});

test('the id counter is process-global, shared through Symbol.for("tofu.nextMessageId")', () => {
  const holder = (globalThis as unknown as Record<symbol, { next: number }>)[
    Symbol.for("tofu.nextMessageId")
  ];
  assert.ok(holder !== undefined);
  const before = holder.next;
  const store = new MessageStore();
  assert.equal(nextMessageId(store), before);
  assert.equal(holder.next, before + 1);
  assert.equal(wrapStore(store).bhdr.messageId, BigInt(before));
});

// ---------------------------------------------------------------- text headers, S-005..S-009

test('S-005: header iterator on "a: b" without CRLF', () => {
  assert.deepEqual(headersOf(withRawHeaders("a: b")), [["a", "b"]]);
});

test("S-006: header iterator on mixed lines", () => {
  const m = withRawHeaders("a: b\r\nc:  \r\nd:e\r\n\r\nf: g\r\n\r\n");
  assert.deepEqual(headersOf(m), [["a", "b"], ["c", ""], ["d", "e"], ["f", "g"]]);
});

test("S-007: an empty name ends the iteration", () => {
  assert.deepEqual(headersOf(withRawHeaders(": ss\r\n\r\n")), []);
  assert.deepEqual(headersOf(withRawHeaders("a:b\r\n\r\n: ss\r\n\r\n")), [["a", "b"]]);
});

test("S-008: empty headers yield nothing", () => {
  assert.deepEqual(headersOf(withRawHeaders("")), []);
  assert.deepEqual(headersOf(Message.create()), []);
});

test("reading rules: a line without ':' is a name with an empty value; values keep inner ':'", () => {
  const m = withRawHeaders("flag\r\nk: a:b \t\r\n");
  assert.deepEqual(headersOf(m), [["flag", ""], ["k", "a:b"]]);
});

test("reading stops at the headers' length even when stale bytes follow in memory", () => {
  const m = withRawHeaders("a:1\r\nb:2\r\n");
  const store = storeOf(m);
  store.headers.length = 4; // "a:1\r" — the "\n" after it is stale capacity
  assert.deepEqual(headersOf(m), [["a", "1\r"]]);
});

test("S-009: append trims the name and writes name:value CRLF", () => {
  const m = Message.create();
  m.thdrs.append(" Content-Type\t", "application/json");
  assert.equal(new TextDecoder().decode(m.thdrs.bytes()), "Content-Type:application/json\r\n");
  const k = Message.create();
  k.thdrs.append("k", "a:b");
  assert.equal(new TextDecoder().decode(k.thdrs.bytes()), "k:a:b\r\n");
  assert.deepEqual(headersOf(k), [["k", "a:b"]]);
});

test("S-009: empty name is BadName and empty value is BadValue; nothing is appended", () => {
  const m = Message.create();
  throwsAmpe(() => m.thdrs.append(" \t", "x"), AmpeStatus.invalidMessage, "BadName");
  throwsAmpe(() => m.thdrs.append("\r\n", "x"), AmpeStatus.invalidMessage, "BadName");
  throwsAmpe(() => m.thdrs.append("k", ""), AmpeStatus.invalidMessage, "BadValue");
  assert.equal(m.thdrs.byteLength, 0);
});

test("header injection: ':' CR LF in a name and CR LF in a value are rejected", () => {
  const m = Message.create();
  throwsAmpe(() => m.thdrs.append("a:b", "x"), AmpeStatus.invalidMessage, "BadName");
  throwsAmpe(() => m.thdrs.append("a\rb", "x"), AmpeStatus.invalidMessage, "BadName");
  throwsAmpe(() => m.thdrs.append("a\nb", "x"), AmpeStatus.invalidMessage, "BadName");
  throwsAmpe(() => m.thdrs.append("a", "x\r\nevil:1"), AmpeStatus.invalidMessage, "BadValue");
  throwsAmpe(() => m.thdrs.append("a", "x\n"), AmpeStatus.invalidMessage, "BadValue");
  assert.equal(m.thdrs.byteLength, 0);
});

test("text headers up to 65535 bytes are accepted; one byte more is invalidHeadersLen", () => {
  const m = Message.create();
  m.thdrs.append("a", "x".repeat(65535 - 4)); // "a:" + value + CRLF
  assert.equal(m.thdrs.byteLength, 65535);
  const before = m.thdrs.bytes().slice();
  throwsAmpe(() => m.thdrs.append("b", "y"), AmpeStatus.invalidHeadersLen, "InvalidHeadersLen");
  assert.deepEqual(m.thdrs.bytes(), before);
  const n = Message.create();
  throwsAmpe(() => n.thdrs.append("a", "x".repeat(65535 - 3)), AmpeStatus.invalidHeadersLen);
  assert.equal(n.thdrs.byteLength, 0);
});

test("header length counts UTF-8 bytes", () => {
  const m = Message.create();
  m.thdrs.append("név", "€😀");
  assert.equal(m.thdrs.byteLength, 4 + 1 + 7 + 2);
  assert.deepEqual(headersOf(m), [["név", "€😀"]]);
  const n = Message.create();
  n.thdrs.append("a", "€".repeat(21843)); // 2 + 65529 + 2 = 65533 bytes
  throwsAmpe(() => n.thdrs.append("b", "€"), AmpeStatus.invalidHeadersLen);
});

test("get returns the first match or undefined; reset empties", () => {
  const m = Message.create();
  m.thdrs.append("x", "1");
  m.thdrs.append("y", "2");
  m.thdrs.append("x", "3");
  assert.equal(m.thdrs.get("x"), "1");
  assert.equal(m.thdrs.get("y"), "2");
  assert.equal(m.thdrs.get("X"), undefined);
  assert.deepEqual(headersOf(m), [["x", "1"], ["y", "2"], ["x", "3"]]);
  m.thdrs.reset();
  assert.equal(m.thdrs.byteLength, 0);
  assert.equal(m.thdrs.get("x"), undefined);
});

// ---------------------------------------------------------------- body

test("body appends bytes and UTF-8 strings and reads back as bytes and text", () => {
  const m = Message.create();
  m.body.append("héllo ");
  m.body.append(new Uint8Array([0x77, 0x6f, 0x72, 0x6c, 0x64]));
  assert.equal(m.body.text(), "héllo world");
  assert.equal(m.body.byteLength, 12);
  assert.deepEqual(m.body.bytes(), new TextEncoder().encode("héllo world"));
  m.body.set("new");
  assert.equal(m.body.text(), "new");
  m.body.reset();
  assert.equal(m.body.byteLength, 0);
  assert.equal(m.body.text(), "");
});

test("body grows past its first allocation and keeps every byte", () => {
  const m = Message.create();
  const chunk = new Uint8Array(1000).map((_, i) => i & 0xff);
  for (let i = 0; i < 50; i++) m.body.append(chunk);
  assert.equal(m.body.byteLength, 50_000);
  const all = m.body.bytes();
  for (let i = 0; i < all.length; i++) assert.equal(all[i], (i % 1000) & 0xff);
});

test("body up to 65535 bytes is accepted; one byte more is invalidBodyLen and nothing changes", () => {
  const m = Message.create();
  m.body.append(new Uint8Array(65535).fill(7));
  throwsAmpe(() => m.body.append(new Uint8Array(1)), AmpeStatus.invalidBodyLen, "InvalidBodyLen");
  throwsAmpe(() => m.body.append("x"), AmpeStatus.invalidBodyLen);
  assert.equal(m.body.byteLength, 65535);
  throwsAmpe(() => m.body.set(new Uint8Array(65536)), AmpeStatus.invalidBodyLen);
  assert.equal(m.body.byteLength, 65535);
  const n = Message.create();
  throwsAmpe(() => n.body.append("€".repeat(21846)), AmpeStatus.invalidBodyLen); // 65538 bytes
  assert.equal(n.body.byteLength, 0);
});

// ---------------------------------------------------------------- message handle

test("clone is an independent copy; reset clears everything", () => {
  const m = Message.create();
  m.bhdr.proto.opCode = OpCode.Signal;
  m.bhdr.proto.more = 1;
  m.bhdr.channelNumber = 77;
  m.bhdr.messageId = 5n;
  m.thdrs.append("X", "1");
  m.body.append("data");
  const c = m.clone();
  m.body.append("!");
  m.thdrs.reset();
  m.bhdr.channelNumber = 1;
  assert.equal(c.bhdr.proto.opCode, OpCode.Signal);
  assert.equal(c.hasMore(), true);
  assert.equal(c.bhdr.channelNumber, 77);
  assert.equal(c.bhdr.messageId, 5n);
  assert.equal(c.thdrs.get("X"), "1");
  assert.equal(c.body.text(), "data");
  c.reset();
  assert.deepEqual([...c.bhdr.toBytes()], new Array(16).fill(0));
  assert.equal(c.thdrs.byteLength, 0);
  assert.equal(c.body.byteLength, 0);
});

test("isFromEngine, isFromApplication and hasMore read the proto bits", () => {
  const m = Message.create();
  assert.equal(m.isFromApplication(), true);
  assert.equal(m.isFromEngine(), false);
  assert.equal(m.hasMore(), false);
  m.bhdr.proto.origin = OriginFlag.engine;
  m.bhdr.proto.more = MoreMessagesFlag.more;
  assert.equal(m.isFromApplication(), false);
  assert.equal(m.isFromEngine(), true);
  assert.equal(m.hasMore(), true);
});

test("a handed-over message throws nullMessage on every member, views included", () => {
  const m = Message.create();
  const bhdr = m.bhdr;
  const proto = bhdr.proto;
  const thdrs = m.thdrs;
  const body = m.body;
  m.thdrs.append("a", "1");
  m.thdrs.append("b", "2");
  const iter = thdrs[Symbol.iterator]();
  assert.deepEqual(iter.next().value, { name: "a", value: "1" });
  const store = detachStore(m);
  const uses: (() => unknown)[] = [
    () => m.bhdr,
    () => m.thdrs,
    () => m.body,
    () => m.clone(),
    () => m.reset(),
    () => m.isFromEngine(),
    () => m.isFromApplication(),
    () => m.hasMore(),
    () => bhdr.channelNumber,
    () => (bhdr.channelNumber = 1),
    () => bhdr.status,
    () => (bhdr.status = 1),
    () => bhdr.messageId,
    () => (bhdr.messageId = 1n),
    () => bhdr.proto,
    () => bhdr.thl,
    () => bhdr.bl,
    () => bhdr.toBytes(),
    () => proto.opCode,
    () => (proto.opCode = 1),
    () => proto.origin,
    () => proto.more,
    () => (proto.more = 1),
    () => proto.oob,
    () => thdrs.append("c", "3"),
    () => thdrs.get("a"),
    () => [...thdrs],
    () => iter.next(),
    () => thdrs.byteLength,
    () => thdrs.bytes(),
    () => thdrs.reset(),
    () => body.append("x"),
    () => body.set("x"),
    () => body.bytes(),
    () => body.text(),
    () => body.byteLength,
    () => body.reset(),
    () => detachStore(m),
    () => storeOf(m),
  ];
  for (const use of uses) {
    const e = throwsAmpe(use, AmpeStatus.nullMessage, "NullMessage");
    assert.match(e.message, /already handed over/);
  }
  assert.equal(store.headers.length, 10);
});

test("a stale handle never shows the content of the message that reuses its store", () => {
  const m = Message.create();
  m.body.append("first owner");
  const bodyView = m.body;
  const store = detachStore(m);
  store.reset();
  const reused = wrapStore(store);
  reused.body.append("second owner");
  reused.bhdr.channelNumber = 99;
  throwsAmpe(() => bodyView.text(), AmpeStatus.nullMessage);
  throwsAmpe(() => m.bhdr.channelNumber, AmpeStatus.nullMessage);
  assert.equal(reused.body.text(), "second owner");
});

// ---------------------------------------------------------------- post checks (spec §8)

function prepared(setup: (m: Message) => void): { m: Message; store: MessageStore } {
  const m = Message.create();
  setup(m);
  return { m, store: storeOf(m) };
}

function withAddress(m: Message, op: OpCode): void {
  m.thdrs.append(op === OpCode.WelcomeRequest ? "~listen_on" : "~connect_to", "tcp|127.0.0.1|1");
  m.bhdr.proto.opCode = op;
}

test("S-024: a message as it comes from the pool is a Request on channel 0", () => {
  const { m, store } = prepared(() => {});
  throwsAmpe(() => checkAndPrepare(store), AmpeStatus.invalidChannelNumber, "InvalidChannelNumber");
  assert.equal(m.bhdr.status, AmpeStatus.invalidChannelNumber);
});

test("S-025: ByeRequest on channel 0 is invalidChannelNumber", () => {
  const { store } = prepared((m) => (m.bhdr.proto.opCode = OpCode.ByeRequest));
  throwsAmpe(() => checkAndPrepare(store), AmpeStatus.invalidChannelNumber);
});

test("S-026: Hello/WelcomeRequest without headers is wrongAddress", () => {
  for (const op of [OpCode.HelloRequest, OpCode.WelcomeRequest]) {
    const { m, store } = prepared((m) => (m.bhdr.proto.opCode = op));
    throwsAmpe(() => checkAndPrepare(store), AmpeStatus.wrongAddress, "WrongAddress");
    assert.equal(m.bhdr.status, AmpeStatus.wrongAddress);
  }
});

test("S-027: a response without id is invalidMessageId, checked before the channel", () => {
  for (
    const [op, ch] of [[OpCode.Response, 0], [OpCode.HelloResponse, 123], [OpCode.ByeResponse, 5]]
  ) {
    const { m, store } = prepared((m) => {
      m.bhdr.proto.opCode = op as OpCode;
      m.bhdr.channelNumber = ch as number;
    });
    throwsAmpe(() => checkAndPrepare(store), AmpeStatus.invalidMessageId, "InvalidMessageId");
    assert.equal(m.bhdr.status, AmpeStatus.invalidMessageId);
  }
});

test("S-028: more is legal on regular opCodes only", () => {
  const hello = prepared((m) => {
    withAddress(m, OpCode.HelloRequest);
    m.bhdr.proto.more = 1;
  });
  throwsAmpe(() => checkAndPrepare(hello.store), AmpeStatus.invalidMoreUsage, "InvalidMoreUsage");
  assert.equal(hello.m.bhdr.status, AmpeStatus.invalidMoreUsage);
  const bye = prepared((m) => {
    m.bhdr.proto.opCode = OpCode.ByeSignal;
    m.bhdr.channelNumber = 5;
    m.bhdr.proto.more = 1;
  });
  throwsAmpe(() => checkAndPrepare(bye.store), AmpeStatus.invalidMoreUsage);
  const request = prepared((m) => (m.bhdr.proto.more = 1));
  throwsAmpe(() => checkAndPrepare(request.store), AmpeStatus.invalidChannelNumber);
});

test("S-030: opCode 12 is invalidOpCode and leaves the status byte alone", () => {
  const { m, store } = prepared((m) => {
    setRaw(m.bhdr.proto, "opCode", 12);
    m.bhdr.rawStatus = 77;
    m.bhdr.channelNumber = 3;
  });
  throwsAmpe(() => checkAndPrepare(store), AmpeStatus.invalidOpCode, "InvalidOpCode");
  assert.equal(m.bhdr.rawStatus, 77);
});

test("[N9] an app-posted WelcomeResponse is notAllowed", () => {
  const { m, store } = prepared((m) => {
    m.bhdr.proto.opCode = OpCode.WelcomeResponse;
    m.bhdr.channelNumber = 4;
    m.bhdr.messageId = 1n;
  });
  throwsAmpe(() => checkAndPrepare(store), AmpeStatus.notAllowed, "NotAllowed");
  assert.equal(m.bhdr.status, AmpeStatus.notAllowed);
});

test("[N9] Hello/WelcomeRequest with a channel number is invalidChannelNumber", () => {
  for (const op of [OpCode.HelloRequest, OpCode.WelcomeRequest]) {
    const { store } = prepared((m) => {
      withAddress(m, op);
      m.bhdr.channelNumber = 42;
    });
    throwsAmpe(() => checkAndPrepare(store), AmpeStatus.invalidChannelNumber);
  }
});

test("post checks reject oversized headers and body even if the store was filled directly", () => {
  const big = new Uint8Array(65536);
  const h = prepared((m) => (m.bhdr.channelNumber = 1));
  setBytes(h.store.headers, big, 0, big.length);
  throwsAmpe(() => checkAndPrepare(h.store), AmpeStatus.invalidHeadersLen);
  assert.equal(h.store.status, AmpeStatus.invalidHeadersLen);
  const b = prepared((m) => (m.bhdr.channelNumber = 1));
  setBytes(b.store.body, big, 0, big.length);
  throwsAmpe(() => checkAndPrepare(b.store), AmpeStatus.invalidBodyLen);
  assert.equal(b.store.status, AmpeStatus.invalidBodyLen);
});

test("S-032 (sync part): origin and status are overwritten and a zero id gets the next one", () => {
  const { m, store } = prepared((m) => {
    m.bhdr.channelNumber = 8;
    m.bhdr.proto.origin = OriginFlag.engine;
    m.bhdr.status = 5;
    m.thdrs.append("a", "b");
    m.body.append("xyz");
  });
  const expected = nextMessageId(new MessageStore()) + 1;
  checkAndPrepare(store);
  assert.equal(m.bhdr.proto.origin, OriginFlag.application);
  assert.equal(m.bhdr.status, 0);
  assert.equal(m.bhdr.messageId, BigInt(expected));
  const snap = snapshotHeader(store);
  assert.equal(snap.thl, 5);
  assert.equal(snap.bl, 3);
});

test("a non-zero id is kept; valid Hello and WelcomeRequests pass", () => {
  const { m, store } = prepared((m) => {
    m.bhdr.channelNumber = 8;
    m.bhdr.proto.opCode = OpCode.Response;
    m.bhdr.messageId = 2n ** 64n - 1n;
  });
  checkAndPrepare(store);
  assert.equal(m.bhdr.messageId, 2n ** 64n - 1n);
  for (const op of [OpCode.HelloRequest, OpCode.WelcomeRequest]) {
    const ok = prepared((m) => withAddress(m, op));
    checkAndPrepare(ok.store);
    assert.notEqual(ok.m.bhdr.messageId, 0n);
  }
});

test("the checks run in the spec's order", () => {
  // Response + ch 0 + mid 0 + more + headers too long: step 4 (mid) wins.
  const a = prepared((m) => {
    m.bhdr.proto.opCode = OpCode.HelloResponse;
    m.bhdr.proto.more = 1;
  });
  throwsAmpe(() => checkAndPrepare(a.store), AmpeStatus.invalidMessageId);
  // Step 5 (more on non-regular) before step 6 (channel 0).
  const b = prepared((m) => {
    m.bhdr.proto.opCode = OpCode.ByeRequest;
    m.bhdr.proto.more = 1;
  });
  throwsAmpe(() => checkAndPrepare(b.store), AmpeStatus.invalidMoreUsage);
  // Step 2 (opCode) before everything, 2a before 4.
  const c = prepared((m) => setRaw(m.bhdr.proto, "opCode", 15));
  throwsAmpe(() => checkAndPrepare(c.store), AmpeStatus.invalidOpCode);
  const d = prepared((m) => (m.bhdr.proto.opCode = OpCode.WelcomeResponse));
  throwsAmpe(() => checkAndPrepare(d.store), AmpeStatus.notAllowed);
  // Step 7 (headers length) before step 9 (body length).
  const e = prepared((m) => (m.bhdr.channelNumber = 2));
  setBytes(e.store.headers, new Uint8Array(65536), 0, 65536);
  setBytes(e.store.body, new Uint8Array(65536), 0, 65536);
  throwsAmpe(() => checkAndPrepare(e.store), AmpeStatus.invalidHeadersLen);
});
