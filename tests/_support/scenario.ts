/**
 * Shared helpers for the engine scenario tests: the macros of
 * spec/scenarios.md §0 (LISTEN, CONNECT, ACCEPT, ESTABLISH, recv, none) and
 * a tuple matcher ⟨OpCode | origin | status | ch | mid⟩.
 *
 * @module
 */

import assert from "node:assert/strict";
import {
  AllocationStrategy,
  type Ampe,
  AmpeStatus,
  type ChannelGroup,
  type Message,
  OpCode,
  type Options,
  Reactor,
  statusName,
  TCPClientAddress,
  TCPServerAddress,
  UDSClientAddress,
  UDSServerAddress,
} from "../../mod.ts";
import { findFreeTcpPort, tempUdsPath } from "../../testing.ts";

/** Transports every data scenario runs over. */
export const TRANSPORTS = ["tcp", "uds"] as const;
export type Transport = typeof TRANSPORTS[number];

/** ms that `recv` waits before failing (spec: 5 s). */
export const RECV_MS = 5000;
/** ms that `none` waits to be sure nothing comes (spec: 300 ms). */
export const NONE_MS = 300;

const OP_NAMES = Object.fromEntries(Object.entries(OpCode).map(([k, v]) => [v, k]));

/** Expected fields of a received message; omitted fields are not checked. */
export interface Expect {
  op?: number;
  origin?: "A" | "E";
  status?: number;
  ch?: number;
  mid?: bigint;
}

/** Describes a message as ⟨op | origin | status | ch | mid⟩ for failure output. */
export function describe(m: Message): string {
  const h = m.bhdr;
  return `⟨${OP_NAMES[h.proto.opCode] ?? h.proto.opCode} | ${h.proto.origin ? "E" : "A"} | ${
    statusName(h.status)
  } | ${h.channelNumber} | ${h.messageId}⟩`;
}

/** Asserts the tuple fields of a message. */
export function expectMsg(m: Message | null, e: Expect, what = "message"): Message {
  assert.ok(m !== null, `${what}: expected a message, got none`);
  const h = m.bhdr;
  const text = describe(m);
  if (e.op !== undefined) assert.equal(h.proto.opCode, e.op, `${what}: opCode of ${text}`);
  if (e.origin !== undefined) {
    assert.equal(h.proto.origin, e.origin === "E" ? 1 : 0, `${what}: origin of ${text}`);
  }
  if (e.status !== undefined) {
    // The tuple's status is the wire byte: a forwarded 200 reads unknownError as `status`.
    assert.equal(
      h.rawStatus,
      e.status,
      `${what}: status of ${text}, expected ${statusName(e.status)}`,
    );
  }
  if (e.ch !== undefined) assert.equal(h.channelNumber, e.ch, `${what}: channel of ${text}`);
  if (e.mid !== undefined) assert.equal(h.messageId, e.mid, `${what}: message id of ${text}`);
  return m;
}

/** `recv(G)`: the next message within 5 s (fails otherwise). */
export async function recv(g: ChannelGroup, ms = RECV_MS): Promise<Message> {
  const m = await g.waitReceive(ms);
  assert.ok(m !== null, `expected a message within ${ms} ms, got none`);
  return m;
}

/** `recv` + `expectMsg`; the message is put back unless `keep`. */
export async function expectNext(
  ampe: Ampe,
  g: ChannelGroup,
  e: Expect,
  what = "message",
  keep = false,
): Promise<Message> {
  const m = expectMsg(await recv(g), e, what);
  if (!keep) ampe.put(m);
  return m;
}

/** `none(G)`: nothing arrives within 300 ms. */
export async function none(g: ChannelGroup, ms = NONE_MS): Promise<void> {
  const m = await g.waitReceive(ms);
  assert.equal(m === null ? null : describe(m), null, "expected no message");
}

/** Addresses of one transport: a free port on 127.0.0.1, or a fresh UDS path. */
export interface Addresses {
  server: TCPServerAddress | UDSServerAddress;
  client: TCPClientAddress | UDSClientAddress;
  port: number;
  path: string;
}

export async function addresses(t: Transport): Promise<Addresses> {
  if (t === "tcp") {
    const port = await findFreeTcpPort();
    return {
      server: new TCPServerAddress("127.0.0.1", port),
      client: new TCPClientAddress("127.0.0.1", port),
      port,
      path: "",
    };
  }
  const path = tempUdsPath();
  return { server: new UDSServerAddress(path), client: new UDSClientAddress(path), port: 0, path };
}

/** LISTEN: posts a WelcomeRequest and expects ⟨WelcomeResponse | A | success | L | Mw⟩. */
export async function listen(
  ampe: Ampe,
  g: ChannelGroup,
  addr: Addresses["server"],
): Promise<{ L: number; Mw: bigint }> {
  const m = ampe.get(AllocationStrategy.always)!;
  addr.format(m);
  const h = g.post(m);
  await expectNext(ampe, g, {
    op: OpCode.WelcomeResponse,
    origin: "A",
    status: 0,
    ch: h.channelNumber,
    mid: h.messageId,
  }, "WelcomeResponse");
  return { L: h.channelNumber, Mw: h.messageId };
}

/** CONNECT: posts a HelloRequest; returns its channel and id. */
export function connect(
  ampe: Ampe,
  g: ChannelGroup,
  addr: Addresses["client"],
): { C: number; H: bigint } {
  const m = ampe.get(AllocationStrategy.always)!;
  addr.format(m);
  const h = g.post(m);
  return { C: h.channelNumber, H: h.messageId };
}

/** ACCEPT: receives the HelloRequest and answers it with the same message as HelloResponse. */
export async function accept(_ampe: Ampe, g: ChannelGroup, H?: bigint): Promise<{ S: number }> {
  const r = expectMsg(
    await recv(g),
    { op: OpCode.HelloRequest, origin: "A", status: 0, ...(H === undefined ? {} : { mid: H }) },
    "HelloRequest",
  );
  const S = r.bhdr.channelNumber;
  r.bhdr.proto.opCode = OpCode.HelloResponse;
  g.post(r);
  return { S };
}

/** A connected pair: listener L on gs, client C on gc, accepted S on gs. */
export interface Established {
  L: number;
  Mw: bigint;
  C: number;
  H: bigint;
  S: number;
}

/** ESTABLISH(Gs, Gc, addr). */
export async function establish(
  ampeS: Ampe,
  gs: ChannelGroup,
  ampeC: Ampe,
  gc: ChannelGroup,
  addr: Addresses,
): Promise<Established> {
  const { L, Mw } = await listen(ampeS, gs, addr.server);
  const { C, H } = connect(ampeC, gc, addr.client);
  const { S } = await accept(ampeS, gs, H);
  await expectNext(
    ampeC,
    gc,
    { op: OpCode.HelloResponse, origin: "A", status: 0, ch: C, mid: H },
    "HelloResponse",
  );
  return { L, Mw, C, H, S };
}

/**
 * GRACEFUL CLOSE: the client side posts a ByeRequest on C, the server side
 * answers it on S with the same message as ByeResponse, and the client
 * receives that response. The close Signals that follow are left to the caller.
 */
export async function byeExchange(
  ampeC: Ampe,
  gc: ChannelGroup,
  gs: ChannelGroup,
  C: number,
  S: number,
): Promise<bigint> {
  const bye = postNew(ampeC, gc, (m) => {
    m.bhdr.proto.opCode = OpCode.ByeRequest;
    m.bhdr.channelNumber = C;
  });
  const req = expectMsg(await recv(gs), {
    op: OpCode.ByeRequest,
    origin: "A",
    status: 0,
    ch: S,
    mid: bye.mid,
  });
  req.bhdr.proto.opCode = OpCode.ByeResponse;
  gs.post(req);
  await expectNext(ampeC, gc, {
    op: OpCode.ByeResponse,
    origin: "A",
    status: 0,
    ch: C,
    mid: bye.mid,
  });
  return bye.mid;
}

/** Runs `fn` with `n` fresh engines, destroying them afterwards even on failure. */
export async function withEngines<T>(
  options: Options[],
  fn: (...engines: Reactor[]) => Promise<T>,
): Promise<T> {
  const engines: Reactor[] = [];
  try {
    for (const o of options) engines.push(await Reactor.create(o));
    return await fn(...engines);
  } finally {
    for (const e of engines) await e.destroy();
  }
}

/** Posts a message built by `build` on channel `ch` and returns the header post gave back. */
export function postNew(
  ampe: Ampe,
  g: ChannelGroup,
  build: (m: Message) => void,
): { ch: number; mid: bigint } {
  const m = ampe.get(AllocationStrategy.always)!;
  build(m);
  const h = g.post(m);
  return { ch: h.channelNumber, mid: h.messageId };
}

/** Two engines (server and client), one group each, established over `t`. */
export interface Pair extends Established {
  rs: Reactor;
  rc: Reactor;
  as: Ampe;
  ac: Ampe;
  gs: ChannelGroup;
  gc: ChannelGroup;
}

/** Runs `fn` with a fresh established pair; `serverOptions` configures the server engine. */
export function withPair(
  t: Transport,
  fn: (p: Pair) => Promise<void>,
  serverOptions: Options = {},
): Promise<void> {
  return withEngines([serverOptions, {}], async (rs, rc) => {
    const as = rs.ampe(), ac = rc.ampe();
    const gs = as.create(), gc = ac.create();
    const e = await establish(as, gs, ac, gc, await addresses(t));
    await fn({ ...e, rs, rc, as, ac, gs, gc });
  });
}

/** The last message of a close bundle (spec §11): ⟨Signal | E | channel_closed | ch | mid0⟩. */
export function expectClosed(
  ampe: Ampe,
  g: ChannelGroup,
  ch: number,
  mid0: bigint,
  what = "channel_closed Signal",
): Promise<Message> {
  return expectNext(
    ampe,
    g,
    { op: OpCode.Signal, origin: "E", status: AmpeStatus.channelClosed, ch, mid: mid0 },
    what,
  );
}
