// Address helpers and the engine-side parser: spec §5, scenarios S-012..S-017, [N12].
import { test } from "node:test";
import assert from "node:assert/strict";
import { AmpeError } from "../src/ampe_error.ts";
import { AmpeStatus } from "../src/status.ts";
import {
  parseAddress,
  type ParsedAddress,
  TCPClientAddress,
  TCPServerAddress,
  UDSClientAddress,
  UDSServerAddress,
} from "../src/address.ts";
import { detachStore, Message, storeOf } from "../src/message.ts";
import { OpCode } from "../src/opcode.ts";

const LIMIT = { udsPathLimit: 108 };

function headersText(m: Message): string {
  return new TextDecoder().decode(m.thdrs.bytes());
}

function assertFreshHeader(m: Message, op: number): void {
  assert.equal(m.bhdr.proto.opCode, op);
  assert.equal(m.bhdr.proto.origin, 0);
  assert.equal(m.bhdr.proto.more, 0);
  assert.equal(m.bhdr.channelNumber, 0);
  assert.equal(m.bhdr.messageId, 0n);
  assert.equal(m.bhdr.status, 0);
}

function assertAmpe(fn: () => unknown, status: number): void {
  assert.throws(fn, (e: unknown) => e instanceof AmpeError && e.status === status);
}

/** A message of opCode `op` whose raw headers are `lines` (name, value) in order. */
function request(op: OpCode, ...lines: [string, string][]): Message {
  const m = Message.create();
  for (const [name, value] of lines) m.thdrs.append(name, value);
  m.bhdr.proto.opCode = op;
  return m;
}

function parse(op: OpCode, ...lines: [string, string][]): ParsedAddress {
  return parseAddress(storeOf(request(op, ...lines)), LIMIT);
}

test("S-012: TCP client defaults to 127.0.0.1:7099 and parses back as a tcp client", () => {
  const m = Message.create();
  new TCPClientAddress(null, null).format(m);
  assertFreshHeader(m, OpCode.HelloRequest);
  assert.equal(headersText(m), "~connect_to:tcp|127.0.0.1|7099\r\n");
  assert.deepEqual(parseAddress(storeOf(m), LIMIT), {
    kind: "tcpClient",
    host: "127.0.0.1",
    port: 7099,
  });
  const d = new TCPClientAddress();
  assert.deepEqual([d.host, d.port], ["127.0.0.1", 7099]);
});

test("S-013: TCP server format", () => {
  const m = Message.create();
  new TCPServerAddress("0.0.0.0", 32984).format(m);
  assertFreshHeader(m, OpCode.WelcomeRequest);
  assert.equal(headersText(m), "~listen_on:tcp|0.0.0.0|32984\r\n");
});

test("S-014: UDS client and server formats", () => {
  const c = Message.create();
  new UDSClientAddress("/tmp/a.port").format(c);
  assertFreshHeader(c, OpCode.HelloRequest);
  assert.equal(headersText(c), "~connect_to:uds|/tmp/a.port\r\n");
  const s = Message.create();
  new UDSServerAddress("/tmp/a.port").format(s);
  assertFreshHeader(s, OpCode.WelcomeRequest);
  assert.equal(headersText(s), "~listen_on:uds|/tmp/a.port\r\n");
});

test("S-015: TCP server without an IP is WrongAddress and leaves the message alone", () => {
  for (const ip of [null, undefined, ""]) {
    const m = Message.create();
    m.bhdr.channelNumber = 4;
    assertAmpe(() => new TCPServerAddress(ip, 7099).format(m), AmpeStatus.wrongAddress);
    assert.equal(m.bhdr.channelNumber, 4);
    assert.equal(m.thdrs.byteLength, 0);
  }
});

test("S-016: format replaces the binary header and keeps existing headers", () => {
  const m = Message.create();
  m.bhdr.channelNumber = 77;
  m.bhdr.messageId = 5n;
  m.bhdr.status = 9;
  m.bhdr.proto.more = 1;
  m.bhdr.proto.origin = 1;
  m.thdrs.append("X", "1");
  new TCPClientAddress("127.0.0.1", 1234).format(m);
  assertFreshHeader(m, OpCode.HelloRequest);
  assert.equal(headersText(m), "X:1\r\n~connect_to:tcp|127.0.0.1|1234\r\n");
});

test("S-017: the parser table", () => {
  const W = OpCode.WelcomeRequest;
  const H = OpCode.HelloRequest;
  assert.deepEqual(parse(W, ["~listen_on", "uds|/tmp/x"]), { kind: "udsServer", path: "/tmp/x" });
  assert.deepEqual(parse(W, ["~listen_on", "tcp||7099"]), {
    kind: "tcpServer",
    host: "0.0.0.0",
    port: 7099,
  });
  assert.deepEqual(parse(H, ["~connect_to", "tcp|localhost|80"]), {
    kind: "tcpClient",
    host: "localhost",
    port: 80,
  });
  for (const value of ["tcp|h|notaport", "tcp|h|70000", "xyz|/p", "uds", "a|b|c|d", "foo|h|1"]) {
    assert.equal(parse(H, ["~connect_to", value]).kind, "wrong", value);
  }
  assert.equal(parse(H, ["X", "y"]).kind, "wrong");
  assert.deepEqual(parse(H, ["~connect_to", "tcp|a|1"], ["~listen_on", "tcp|b|2"]), {
    kind: "tcpClient",
    host: "a",
    port: 1,
  });
});

test("[N12] the header kind must match the opCode", () => {
  assert.equal(parse(OpCode.WelcomeRequest, ["~connect_to", "tcp|a|1"]).kind, "wrong");
  assert.equal(parse(OpCode.HelloRequest, ["~listen_on", "tcp|a|1"]).kind, "wrong");
  assert.equal(parse(OpCode.Request, ["~connect_to", "tcp|a|1"]).kind, "wrong");
  // The first address header decides, even when it is the wrong kind.
  assert.equal(
    parse(OpCode.WelcomeRequest, ["~connect_to", "tcp|a|1"], ["~listen_on", "tcp|b|2"]).kind,
    "wrong",
  );
});

test("[N12] ports are 0..65535 in decimal digits only", () => {
  const H = OpCode.HelloRequest;
  for (const [port, n] of [["0", 0], ["65535", 65535], ["080", 80]] as const) {
    assert.deepEqual(parse(H, ["~connect_to", `tcp|h|${port}`]), {
      kind: "tcpClient",
      host: "h",
      port: n,
    });
  }
  for (const port of ["", "65536", "-1", "+80", "8 0", "0x50", "1e3", "80.0", "123456"]) {
    assert.equal(parse(H, ["~connect_to", `tcp|h|${port}`]).kind, "wrong", port);
  }
});

test("[N12] an empty TCP host is wrong for a client; names are case-sensitive", () => {
  assert.equal(parse(OpCode.HelloRequest, ["~connect_to", "tcp||80"]).kind, "wrong");
  assert.equal(parse(OpCode.HelloRequest, ["~Connect_To", "tcp|h|80"]).kind, "wrong");
  assert.equal(parse(OpCode.HelloRequest, ["~connect_to", "TCP|h|80"]).kind, "wrong");
});

test("[N12] a UDS path must be shorter than the platform limit", () => {
  const W = OpCode.WelcomeRequest;
  const ok = "/" + "p".repeat(106); // 107 bytes
  assert.deepEqual(parse(W, ["~listen_on", `uds|${ok}`]), { kind: "udsServer", path: ok });
  assert.equal(parse(W, ["~listen_on", `uds|${ok}x`]).kind, "wrong");
  const m = request(OpCode.HelloRequest, ["~connect_to", `uds|${ok}`]);
  assert.equal(parseAddress(storeOf(m), { udsPathLimit: 104 }).kind, "wrong");
  // The limit counts UTF-8 bytes, not characters.
  const wide = "/" + "é".repeat(54); // 55 characters, 109 bytes
  assert.equal(parse(W, ["~listen_on", `uds|${wide}`]).kind, "wrong");
});

test("an empty UDS path parses (the engine picks a temporary path for a listener)", () => {
  const m = Message.create();
  new UDSServerAddress("").format(m);
  assert.deepEqual(parseAddress(storeOf(m), LIMIT), { kind: "udsServer", path: "" });
});

test("a UDS path is cut at its first NUL", () => {
  const m = Message.create();
  new UDSClientAddress("/tmp/a\0b").format(m);
  assert.equal(headersText(m), "~connect_to:uds|/tmp/a\r\n");
  assert.equal(new UDSServerAddress("\0abstract").path, "");
});

test("a wrong result says why", () => {
  const r = parse(OpCode.HelloRequest, ["~connect_to", "a|b|c|d"]);
  assert.equal(r.kind, "wrong");
  assert.ok(r.kind === "wrong" && r.reason.length > 0);
});

test("ports outside 0..65535 are refused when the address is made", () => {
  for (const port of [-1, 65536, 1.5, Number.NaN]) {
    assertAmpe(() => new TCPClientAddress("h", port), AmpeStatus.wrongAddress);
    assertAmpe(() => new TCPServerAddress("h", port), AmpeStatus.wrongAddress);
  }
});

test("format on a handed-over message throws nullMessage", () => {
  const m = Message.create();
  detachStore(m);
  assertAmpe(() => new TCPClientAddress().format(m), AmpeStatus.nullMessage);
  assertAmpe(() => new UDSServerAddress("/tmp/x").format(m), AmpeStatus.nullMessage);
});

test("format that would overflow the text headers changes nothing", () => {
  const m = Message.create();
  m.thdrs.append("big", "x".repeat(65500));
  m.bhdr.channelNumber = 3;
  assertAmpe(
    () => new UDSClientAddress("/tmp/" + "y".repeat(60)).format(m),
    AmpeStatus.invalidHeadersLen,
  );
  assert.equal(m.bhdr.channelNumber, 3);
  assert.equal(m.thdrs.byteLength, 65500 + 6);
});
