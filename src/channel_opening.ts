/**
 * Opening channels (spec §10.1–§10.3): a posted WelcomeRequest becomes a
 * listener, a posted HelloRequest a client that resolves and connects, and
 * every accepted socket a server-side connection in the listener's group.
 * Whatever fails comes back to the app as the request's response and the
 * channel's close bundle, with the reason and the OS error.
 *
 * @module
 */

import { AmpeError } from "./ampe_error.ts";
import { AmpeStatus } from "./status.ts";
import type { MessageStore } from "./message_store.ts";
import { OpCode } from "./opcode.ts";
import { LISTENING_ON, parseAddress } from "./address.ts";
import { NativeError } from "./native_port.ts";
import { Trigger } from "./triggers.ts";
import { isNumericHost, resolveHost } from "./resolve.ts";
import type { GroupCore } from "./group_core.ts";
import {
  type Channel,
  ChannelKind,
  ChannelState,
  ConnectionChannel,
  ListenerChannel,
} from "./channel.ts";
import {
  addEngineHeader,
  addFailureHeaders,
  engineSignal,
  opCodeOf,
  setOpCode,
} from "./engine_messages.ts";
import { failureOf, INVALID_ADDRESS } from "./failure.ts";
import { closeChannel, dropChannel, failRequest, reconcile } from "./channel_closing.ts";
import { flush } from "./connection_io.ts";
import { ACCEPT_BATCH, type EngineContext } from "./engine_context.ts";

const LISTEN_BACKLOG = 1024;
/** After an accept failure (e.g. descriptor limit) the listener rests this long. */
const ACCEPT_PAUSE_MS = 100;
const encoder = new TextEncoder();

/**
 * The channel a posted Hello/WelcomeRequest opens, numbered at once so that
 * `post` can return its number; the engine starts it in its turn.
 */
export function newPostedChannel(
  ctx: EngineContext,
  group: GroupCore,
  store: MessageStore,
): Channel {
  const number = ctx.numbers.allocate();
  if (number === 0) {
    throw new AmpeError(
      AmpeStatus.allocationFailed,
      "Cannot open a channel: every channel number is in use",
    );
  }
  store.channelNumber = number;
  let ch: Channel;
  if (opCodeOf(store) === OpCode.WelcomeRequest) {
    ch = new ListenerChannel(number, group);
    ch.welcomeMidHi = store.midHi;
    ch.welcomeMidLo = store.midLo;
  } else {
    ch = new ConnectionChannel(number, ChannelKind.client, group);
    // Until the channel receives anything, its close Signal carries the
    // HelloRequest's id; the first message received replaces it (spec §10.5).
    ch.mid0Hi = store.midHi;
    ch.mid0Lo = store.midLo;
  }
  ctx.channels.set(number, ch);
  group.channels.add(ch);
  return ch;
}

// ---- listeners (spec §10.1) ----

/** Listens at the WelcomeRequest's address (resolving a host name first). */
export function startListener(ctx: EngineContext, ch: ListenerChannel, store: MessageStore): void {
  const address = parseAddress(store, { udsPathLimit: ctx.udsPathLimit });
  if (address.kind === "tcpServer") {
    const { host, port } = address;
    if (isNumericHost(host)) return listenTcp(ctx, ch, store, host, port);
    resolveThen(ctx, ch, store, host, (ip) => listenTcp(ctx, ch, store, ip, port));
    return;
  }
  if (address.kind === "udsServer") {
    const sock = ctx.native.udsListen(encoder.encode(address.path), LISTEN_BACKLOG);
    listenDone(ctx, ch, store, sock, address.path === "" ? "uds" : null, "");
    return;
  }
  failRequest(ctx, ch, store, INVALID_ADDRESS);
}

function listenTcp(
  ctx: EngineContext,
  ch: ListenerChannel,
  store: MessageStore,
  ip: string,
  port: number,
): void {
  const sock = ctx.native.tcpListen(encoder.encode(ip), port, LISTEN_BACKLOG);
  listenDone(ctx, ch, store, sock, port === 0 ? "tcp" : null, ip);
}

/**
 * `chosen` is set when the OS picked the address (TCP port 0, empty UDS
 * path): the WelcomeResponse then also carries `~listening_on` with the real
 * address, which Zig tofu could not report (spec §16.17).
 */
function listenDone(
  ctx: EngineContext,
  ch: ListenerChannel,
  store: MessageStore,
  sock: number,
  chosen: "tcp" | "uds" | null,
  ip: string,
): void {
  if (sock < 0) return failRequest(ctx, ch, store, failureOf(sock, "listen", ctx.native));
  ch.sock = sock;
  ch.state = ChannelState.open;
  ch.expected = Trigger.accept;
  const attached = ctx.core.attach(ch);
  if (attached < 0) {
    return failRequest(ctx, ch, store, failureOf(attached, "listen", ctx.native));
  }
  if (chosen !== null) reportChosenAddress(ctx, store, sock, chosen, ip);
  // Success: the same message comes back as WelcomeResponse, origin application (spec §10.1).
  setOpCode(store, OpCode.WelcomeResponse);
  store.status = AmpeStatus.success;
  ctx.deliver(ch, store);
}

function reportChosenAddress(
  ctx: EngineContext,
  store: MessageStore,
  sock: number,
  kind: "tcp" | "uds",
  ip: string,
): void {
  let value: string;
  if (kind === "tcp") {
    value = `tcp|${ip}|${ctx.native.localPort(sock)}`;
  } else {
    const path = ctx.native.udsPath(sock);
    if (typeof path === "number") return;
    value = `uds|${new TextDecoder().decode(path)}`;
  }
  addEngineHeader(store, LISTENING_ON, value);
}

/** Takes the connections waiting on a ready listener. */
export function acceptConnections(ctx: EngineContext, listener: ListenerChannel): void {
  if (listener.acceptTimer !== undefined) return;
  for (let round = 0; round < 4; round++) {
    const n = ctx.native.accept(listener.sock, ctx.acceptOut);
    if (n < 0) {
      if (n !== NativeError.again) pauseAccept(ctx, listener, n);
      return;
    }
    for (let i = 0; i < n; i++) adopt(ctx, listener, ctx.acceptOut[i]!);
    if (n < ACCEPT_BATCH) return;
  }
}

/** A new server-side channel for an accepted socket, owned by the listener's group (spec §10.3). */
function adopt(ctx: EngineContext, listener: ListenerChannel, sock: number): void {
  const number = ctx.numbers.allocate();
  if (number === 0) {
    ctx.native.close(sock, true);
    return;
  }
  const group = listener.group;
  const ch = new ConnectionChannel(number, ChannelKind.server, group);
  ch.sock = sock;
  ch.state = ChannelState.open;
  ch.expected = Trigger.recv;
  ctx.channels.set(number, ch);
  group.channels.add(ch);
  // A connection the poller cannot watch is closed before the app ever sees it.
  if (ctx.core.attach(ch) < 0) dropChannel(ctx, ch);
}

/**
 * Accept failed (typically the descriptor limit): tell the app once, with the
 * OS error, stop watching the listener for a moment instead of spinning on
 * it, retry later.
 */
function pauseAccept(ctx: EngineContext, listener: ListenerChannel, code: number): void {
  const why = failureOf(code, "accept", ctx.native);
  const note = engineSignal(
    ctx.pool.make(),
    AmpeStatus.acceptFailed,
    listener.number,
    listener.welcomeMidHi,
    listener.welcomeMidLo,
  );
  addFailureHeaders(note, why);
  ctx.deliver(listener, note);
  listener.expected = 0;
  ctx.touch(listener);
  listener.acceptTimer = setTimeout(() => {
    listener.acceptTimer = undefined;
    if (listener.state !== ChannelState.open || !ctx.running) return;
    listener.expected = Trigger.accept;
    reconcile(ctx, listener);
    ctx.schedule();
  }, ACCEPT_PAUSE_MS);
}

// ---- clients (spec §10.2) ----

/** Connects to the HelloRequest's address (resolving a host name first). */
export function startClient(ctx: EngineContext, ch: ConnectionChannel, store: MessageStore): void {
  // The HelloRequest is the first frame to send; later posts queue behind it.
  ch.outbox.queue.push(store);
  const address = parseAddress(store, { udsPathLimit: ctx.udsPathLimit });
  if (address.kind === "tcpClient") {
    const { host, port } = address;
    if (isNumericHost(host)) return connectTcp(ctx, ch, host, port);
    resolveThen(ctx, ch, null, host, (ip) => connectTcp(ctx, ch, ip, port));
    return;
  }
  if (address.kind === "udsClient") {
    connectStarted(ctx, ch, ctx.native.udsConnect(encoder.encode(address.path)));
    return;
  }
  closeChannel(ctx, ch, INVALID_ADDRESS);
}

function connectTcp(ctx: EngineContext, ch: ConnectionChannel, ip: string, port: number): void {
  connectStarted(ctx, ch, ctx.native.tcpConnect(encoder.encode(ip), port));
}

function connectStarted(ctx: EngineContext, ch: ConnectionChannel, sock: number): void {
  if (sock < 0) return closeChannel(ctx, ch, failureOf(sock, "connect", ctx.native));
  ch.sock = sock;
  ch.state = ChannelState.connecting;
  ch.expected = Trigger.connect;
  const attached = ctx.core.attach(ch);
  if (attached < 0) closeChannel(ctx, ch, failureOf(attached, "connect", ctx.native));
}

/** The connect finished, one way or the other: open the channel and send what waits. */
export function connectReady(ctx: EngineContext, ch: ConnectionChannel): void {
  const result = ctx.native.connectCheck(ch.sock);
  if (result === NativeError.again) return;
  if (result < 0) return closeChannel(ctx, ch, failureOf(result, "connect", ctx.native));
  ch.state = ChannelState.open;
  ch.expected = Trigger.recv;
  ctx.touch(ch);
  flush(ctx, ch);
}

/** Resolves a host name off the JS thread, then continues; failure is invalid_address. */
function resolveThen(
  ctx: EngineContext,
  ch: Channel,
  request: MessageStore | null,
  host: string,
  next: (ip: string) => void,
): void {
  ch.state = ChannelState.resolving;
  const fail = () => {
    if (request !== null) failRequest(ctx, ch, request, INVALID_ADDRESS);
    else closeChannel(ctx, ch, INVALID_ADDRESS);
  };
  const settle = (ip: string | null) => {
    if (ch.state !== ChannelState.resolving || !ctx.running) return;
    if (ip === null) fail();
    else next(ip);
    ctx.schedule();
  };
  resolveHost(host).then(settle, () => settle(null));
}
