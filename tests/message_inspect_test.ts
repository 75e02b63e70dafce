// What console.log(msg) shows: util.inspect output of messages and headers, built by the app
// and received over a real connection, on the runtime running the test (Deno or Bun).
import { test } from "node:test";
import assert from "node:assert/strict";
import { inspect } from "node:util";
import {
  AllocationStrategy,
  AmpeStatus,
  BinaryHeader,
  Message,
  MoreMessagesFlag,
  OpCode,
  Reactor,
} from "../mod.ts";
import { recv, withPair } from "./_support/scenario.ts";

function sample(): Message {
  const m = Message.create();
  m.bhdr.proto.opCode = OpCode.Request;
  m.bhdr.channelNumber = 3;
  m.bhdr.messageId = 42n;
  m.thdrs.append("Content-Type", "text/plain");
  m.thdrs.append("X-Trace", "a b");
  m.body.append("hello world");
  return m;
}

test("inspect shows the header by name, the text headers and the body as text", () => {
  assert.equal(
    inspect(sample()),
    [
      "Message {",
      "  bhdr: Request | application | success | channel 3 | id 42n | last",
      "  thdrs: {",
      '    "Content-Type": "text/plain",',
      '    "X-Trace": "a b"',
      "  }",
      '  body: 11 bytes "hello world"',
      "}",
    ].join("\n"),
  );
});

test("inspect of an empty message says so", () => {
  assert.equal(
    inspect(Message.create()),
    [
      "Message {",
      "  bhdr: Request | application | success | channel 0 | id 0n | last",
      "  thdrs: none",
      "  body: empty",
      "}",
    ].join("\n"),
  );
});

test("a long or binary body shows its first 32 bytes, in hex when not printable text", () => {
  const long = Message.create();
  long.body.append("x".repeat(40));
  assert.match(inspect(long), /^ {2}body: 40 bytes "x{32}"\.\.\.$/m);

  const binary = Message.create();
  binary.body.append(new Uint8Array([0x00, 0x01, 0xff, 0x41]));
  assert.match(inspect(binary), /^ {2}body: 4 bytes <00 01 ff 41>$/m);

  const bigBinary = Message.create();
  bigBinary.body.append(new Uint8Array(100).fill(0x80));
  const line = inspect(bigBinary).split("\n").find((l) => l.startsWith("  body:"));
  assert.equal(line, `  body: 100 bytes <${Array(32).fill("80").join(" ")} ...>`);

  // A character cut by the 32-byte limit is left out, not shown as a replacement character.
  const utf8 = Message.create();
  utf8.body.append("y".repeat(31) + "é and more");
  assert.match(inspect(utf8), /^ {2}body: 42 bytes "y{31}"\.\.\.$/m);
});

test("flags, the engine origin and statuses beyond the table are named", () => {
  const m = Message.create();
  m.bhdr.proto.opCode = OpCode.Signal;
  m.bhdr.proto.origin = 1;
  m.bhdr.proto.more = MoreMessagesFlag.more;
  m.bhdr.proto.oob = 1;
  m.bhdr.status = AmpeStatus.channelClosed;
  assert.match(
    inspect(m),
    /bhdr: Signal \| engine \| channelClosed \| channel 0 \| id 0n \| more \| oob$/m,
  );
  m.bhdr.rawStatus = 200;
  assert.match(inspect(m), /\| unknownError \(raw 200\) \|/);
});

test("a standalone header and a message's header view print their fields on one line", () => {
  const h = BinaryHeader.init(OpCode.WelcomeResponse);
  h.messageId = 0xffff_ffff_ffff_ffffn;
  assert.equal(
    inspect(h),
    "BinaryHeader <WelcomeResponse | engine | success | channel 0 | id 18446744073709551615n | last>",
  );
  assert.equal(
    inspect(sample().bhdr),
    "BinaryHeader <Request | application | success | channel 3 | id 42n | last>",
  );
});

test("a handed-over message and its header view say so instead of throwing", async () => {
  await using rtr = await Reactor.create();
  const m = sample();
  const h = m.bhdr;
  rtr.ampe().put(m); // put hands the message over: the object is dead from then on
  assert.equal(inspect(m), "Message <handed over: post, put or updateReceiver took it>");
  assert.equal(
    inspect(h),
    "BinaryHeader <handed over: post, put or updateReceiver took its message>",
  );
  assert.equal(
    inspect({ m }),
    "{ m: Message <handed over: post, put or updateReceiver took it> }",
  );
});

test("a message received over a connection prints what the peer sent", async () => {
  await withPair("tcp", async ({ ac, gs, gc, C, S }) => {
    const m = ac.get(AllocationStrategy.always)!;
    m.bhdr.proto.opCode = OpCode.Request;
    m.bhdr.channelNumber = C;
    m.bhdr.messageId = 7n;
    m.thdrs.append("Method", "add");
    m.body.append(new Uint8Array([1, 2, 3]));
    gc.post(m);
    const got = await recv(gs);
    assert.equal(
      inspect(got),
      [
        "Message {",
        `  bhdr: Request | application | success | channel ${S} | id 7n | last`,
        "  thdrs: {",
        '    "Method": "add"',
        "  }",
        "  body: 3 bytes <01 02 03>",
        "}",
      ].join("\n"),
    );
    got.bhdr.proto.opCode = OpCode.Response;
    gs.post(got);
    assert.equal(inspect(got), "Message <handed over: post, put or updateReceiver took it>");
    await recv(gc).then((r) => ac.put(r));
  });
});
