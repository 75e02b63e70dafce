// Every misuse of the public API (wrong types, wrong values, a handed-over message) throws or
// rejects with an AmpeError whose status says what was wrong, never a RangeError or TypeError.
// The calls are written as a JavaScript caller can make them: the casts only pass the compiler.
import { test } from "node:test";
import assert from "node:assert/strict";
import {
  type Ampe,
  Ampe as AmpeClass,
  AmpeError,
  AmpeStatus,
  BinaryHeader,
  Body,
  type ChannelGroup,
  ChannelGroup as ChannelGroupClass,
  echo,
  errorName,
  getRole,
  getType,
  type Message,
  Reactor,
  TCPClientAddress,
  TCPServerAddress,
  TextHeaders,
  UDSClientAddress,
  UDSServerAddress,
} from "../mod.ts";

/** What a misuse may use: an engine, its ampe, a group, a live and a handed-over message. */
interface Ctx {
  rtr: Reactor;
  ampe: Ampe;
  group: ChannelGroup;
  msg: Message;
  dead: Message;
}

interface Misuse {
  /** The call, as written in a report. */
  call: string;
  run: (c: Ctx) => unknown;
  status: number;
  code?: string;
}

// deno-lint-ignore no-explicit-any
type Any = any;
const any = (v: unknown): Any => v;

/** Writes `value` to `target[field]`, as a JavaScript caller can. */
function set(target: object, field: string, value: unknown): void {
  (target as Record<string, unknown>)[field] = value;
}

const S = AmpeStatus;

const MISUSES: Misuse[] = [
  // Reactor.create
  { call: "Reactor.create(42)", run: () => Reactor.create(any(42)), status: S.notAllowed },
  { call: 'Reactor.create("x")', run: () => Reactor.create(any("x")), status: S.notAllowed },
  ...[-1, 1.5, 70000, "16", Number.NaN].map((v) => ({
    call: `Reactor.create({ initialPoolMsgs: ${String(v)} })`,
    run: () => Reactor.create({ initialPoolMsgs: any(v) }),
    status: S.notAllowed,
  })),
  {
    call: 'Reactor.create({ maxPoolMsgs: "64" })',
    run: () => Reactor.create({ maxPoolMsgs: any("64") }),
    status: S.notAllowed,
  },
  {
    call: 'Reactor.create({ backend: "nope" })',
    run: () => Reactor.create({ backend: any("nope") }),
    status: S.notAllowed,
  },
  {
    call: "Reactor.create({ backend: 42 })",
    run: () => Reactor.create({ backend: any(42) }),
    status: S.notAllowed,
  },
  {
    call: "Reactor.create({ nativeLibrary: 42 })",
    run: () => Reactor.create({ nativeLibrary: any(42) }),
    status: S.notAllowed,
  },
  ...[-1, "5", 1e9, Number.POSITIVE_INFINITY].map((v) => ({
    call: `Reactor.create({ spinMicros: ${String(v)} })`,
    run: () => Reactor.create({ spinMicros: any(v) }),
    status: S.notAllowed,
  })),

  // Ampe
  ...["x", undefined, null, 42, "ALWAYS"].map((v) => ({
    call: `ampe.get(${JSON.stringify(v)})`,
    run: (c: Ctx) => c.ampe.get(any(v)),
    status: S.notAllowed,
  })),
  ...["x", 42, {}, []].map((v) => ({
    call: `ampe.put(${JSON.stringify(v)})`,
    run: (c: Ctx) => c.ampe.put(any(v)),
    status: S.invalidMessage,
  })),
  { call: "ampe.put(handed over)", run: (c) => c.ampe.put(c.dead), status: S.nullMessage },
  {
    call: "ampe.destroy(42)",
    run: (c) => c.ampe.destroy(any(42)),
    status: S.invalidMessageChannelGroup,
  },
  { call: "new Ampe(42)", run: () => new (AmpeClass as Any)(42), status: S.notAllowed },

  // ChannelGroup
  {
    call: "new ChannelGroup(1, 2)",
    run: () => new (ChannelGroupClass as Any)(1, 2),
    status: S.notAllowed,
  },
  { call: "group.post(null)", run: (c) => c.group.post(any(null)), status: S.nullMessage },
  {
    call: "group.post(undefined)",
    run: (c) => c.group.post(any(undefined)),
    status: S.nullMessage,
  },
  { call: 'group.post("x")', run: (c) => c.group.post(any("x")), status: S.invalidMessage },
  { call: "group.post({})", run: (c) => c.group.post(any({})), status: S.invalidMessage },
  { call: "group.post(handed over)", run: (c) => c.group.post(c.dead), status: S.nullMessage },
  ...[-1, "1000", Number.NaN, null].map((v) => ({
    call: `group.waitReceive(${String(v)})`,
    run: (c: Ctx) => c.group.waitReceive(any(v)),
    status: S.notAllowed,
  })),
  {
    call: "group.waitReceive(0, 42)",
    run: (c) => c.group.waitReceive(0, any(42)),
    status: S.notAllowed,
  },
  {
    call: "group.waitReceive(0, { signal: {} })",
    run: (c) => c.group.waitReceive(0, { signal: any({}) }),
    status: S.notAllowed,
  },
  ...[0, -1, 1.5, "5", Number.NaN].map((v) => ({
    call: `group.receiveBatch(${String(v)}, 0)`,
    run: (c: Ctx) => c.group.receiveBatch(any(v), 0),
    status: S.notAllowed,
  })),
  {
    call: "group.receiveBatch(1, -1)",
    run: (c) => c.group.receiveBatch(1, -1),
    status: S.notAllowed,
  },
  {
    call: 'group.receiveBatch(1, 0, { signal: "x" })',
    run: (c) => c.group.receiveBatch(1, 0, { signal: any("x") }),
    status: S.notAllowed,
  },
  {
    call: 'group.updateReceiver("x")',
    run: (c) => c.group.updateReceiver(any("x")),
    status: S.invalidMessage,
  },
  {
    call: "group.updateReceiver(handed over)",
    run: (c) => c.group.updateReceiver(c.dead),
    status: S.nullMessage,
  },

  // The binary header of a message
  ...[-1, 65536, 1.5, "3", null, 3n].map((v) => ({
    call: `msg.bhdr.channelNumber = ${String(v)}`,
    run: (c: Ctx) => set(c.msg.bhdr, "channelNumber", v),
    status: S.invalidChannelNumber,
  })),
  ...[-1, 256, 0.5, "1", null].flatMap((v) =>
    ["status", "rawStatus"].map((field) => ({
      call: `msg.bhdr.${field} = ${String(v)}`,
      run: (c: Ctx) => set(c.msg.bhdr, field, v),
      status: S.invalidMessage,
    }))
  ),
  ...[-1n, 2n ** 64n, -1, 1.5, "5", null, Symbol("id")].map((v) => ({
    call: `msg.bhdr.messageId = ${String(v)}`,
    run: (c: Ctx) => set(c.msg.bhdr, "messageId", v),
    status: S.invalidMessageId,
  })),
  ...[16, -1, 1.5, "1", null].map((v) => ({
    call: `msg.bhdr.proto.opCode = ${String(v)}`,
    run: (c: Ctx) => set(c.msg.bhdr.proto, "opCode", v),
    status: S.invalidOpCode,
  })),
  ...["origin", "more", "oob"].flatMap((field) =>
    [2, -1, "1", true].map((v) => ({
      call: `msg.bhdr.proto.${field} = ${String(v)}`,
      run: (c: Ctx) => set(c.msg.bhdr.proto, field, v),
      status: S.invalidMessage,
    }))
  ),

  // Text headers and body
  ...([
    ["", "v", "BadName"],
    [" \t", "v", "BadName"],
    ["a:b", "v", "BadName"],
    [42, "v", "BadName"],
    [null, "v", "BadName"],
    ["n", "", "BadValue"],
    ["n", "a\r\nb", "BadValue"],
    ["n", 42, "BadValue"],
    ["n", undefined, "BadValue"],
  ] as const).map(([name, value, code]) => ({
    call: `msg.thdrs.append(${String(name)}, ${String(value)})`,
    run: (c: Ctx) => c.msg.thdrs.append(any(name), any(value)),
    status: S.invalidMessage,
    code,
  })),
  {
    call: "msg.thdrs.append(name, 70 000 characters)",
    run: (c) => c.msg.thdrs.append("n", "v".repeat(70_000)),
    status: S.invalidHeadersLen,
  },
  ...[42, {}, null, [1, 2], new ArrayBuffer(4)].map((v) => ({
    call: `msg.body.append(${Object.prototype.toString.call(v)})`,
    run: (c: Ctx) => c.msg.body.append(any(v)),
    status: S.invalidMessage,
  })),
  { call: "msg.body.set(42)", run: (c) => c.msg.body.set(any(42)), status: S.invalidMessage },
  {
    call: "msg.body.append(65 536 bytes)",
    run: (c) => c.msg.body.append(new Uint8Array(65_536)),
    status: S.invalidBodyLen,
  },
  { call: "new Body(42)", run: () => new Body(any(42)), status: S.invalidMessage },
  { call: 'new TextHeaders("x")', run: () => new TextHeaders(any("x")), status: S.invalidMessage },
  { call: "new TextHeaders(null)", run: () => new TextHeaders(any(null)), status: S.nullMessage },

  // A message that was handed over
  ...(["bhdr", "thdrs", "body"] as const).map((field) => ({
    call: `handed over.${field}`,
    run: (c: Ctx) => c.dead[field],
    status: S.nullMessage,
  })),
  ...(["clone", "reset", "isFromEngine", "isFromApplication", "hasMore"] as const).map((
    method,
  ) => ({
    call: `handed over.${method}()`,
    run: (c: Ctx) => c.dead[method](),
    status: S.nullMessage,
  })),

  // Standalone headers and opCode helpers
  ...["x", null, new Uint8Array(15), [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]].map((v) => ({
    call: `BinaryHeader.fromBytes(${Object.prototype.toString.call(v)})`,
    run: () => BinaryHeader.fromBytes(any(v)),
    status: S.invalidMessage,
  })),
  ...[12, "x", -1].map((v) => ({
    call: `BinaryHeader.init(${String(v)})`,
    run: () => BinaryHeader.init(any(v)),
    status: S.invalidOpCode,
  })),
  { call: "getType(12)", run: () => getType(12), status: S.invalidOpCode },
  { call: 'getRole("x")', run: () => getRole(any("x")), status: S.invalidOpCode },
  { call: "echo(Response)", run: () => echo(1), status: S.invalidOpCode },

  // Addresses
  ...[70000, -1, 1.5, "80", Number.NaN].map((v) => ({
    call: `new TCPServerAddress("0.0.0.0", ${String(v)})`,
    run: () => new TCPServerAddress("0.0.0.0", any(v)),
    status: S.wrongAddress,
  })),
  {
    call: "new TCPServerAddress(42, 80)",
    run: () => new TCPServerAddress(any(42), 80),
    status: S.wrongAddress,
  },
  {
    call: "new TCPClientAddress(42)",
    run: () => new TCPClientAddress(any(42)),
    status: S.wrongAddress,
  },
  {
    call: 'new TCPClientAddress("h", 65536)',
    run: () => new TCPClientAddress("h", 65536),
    status: S.wrongAddress,
  },
  {
    call: "new UDSServerAddress(42)",
    run: () => new UDSServerAddress(any(42)),
    status: S.wrongAddress,
  },
  {
    call: "new UDSClientAddress({})",
    run: () => new UDSClientAddress(any({})),
    status: S.wrongAddress,
  },
  {
    call: 'new TCPServerAddress("", 80).format(msg)',
    run: (c) => new TCPServerAddress("", 80).format(c.msg),
    status: S.wrongAddress,
  },
  {
    call: 'new TCPClientAddress().format("x")',
    run: () => new TCPClientAddress().format(any("x")),
    status: S.invalidMessage,
  },
  {
    call: "new UDSClientAddress(path).format(null)",
    run: () => new UDSClientAddress("/tmp/x.sock").format(any(null)),
    status: S.nullMessage,
  },
  {
    call: "new UDSServerAddress(path).format(handed over)",
    run: (c) => new UDSServerAddress("/tmp/x.sock").format(c.dead),
    status: S.nullMessage,
  },
];

/** What `run` threw or rejected with, or a failure if it returned normally. */
async function caught(run: () => unknown): Promise<unknown> {
  try {
    await run();
  } catch (err) {
    return err;
  }
  assert.fail("expected an AmpeError, but the call succeeded");
}

for (const misuse of MISUSES) {
  test(`AmpeError ${errorName(misuse.status)}: ${misuse.call}`, async () => {
    await using rtr = await Reactor.create();
    const ampe = rtr.ampe();
    const group = ampe.create();
    const msg = ampe.get("always")!;
    const dead = ampe.get("always")!;
    ampe.put(dead); // handed over: the object is dead from now on
    const err = await caught(() => misuse.run({ rtr, ampe, group, msg, dead }));
    assert.ok(err instanceof AmpeError, `expected an AmpeError, got ${String(err)}`);
    assert.equal(err.status, misuse.status, err.message);
    if (misuse.code !== undefined) assert.equal(err.code, misuse.code, err.message);
    assert.ok(err.message.length > 0);
    // The misuse changed nothing: the message and the group still work.
    msg.body.append("still mine");
    group.updateReceiver(msg);
    const back = await group.waitReceive(1000);
    assert.equal(back?.body.text(), "still mine");
    ampe.put(back);
  });
}

test("the engine refuses a group of another engine", async () => {
  await using a = await Reactor.create();
  await using b = await Reactor.create();
  const foreign = b.ampe().create();
  await assert.rejects(a.ampe().destroy(foreign), (err: unknown) => {
    assert.ok(err instanceof AmpeError);
    assert.equal(err.status, AmpeStatus.invalidMessageChannelGroup);
    return true;
  });
});
