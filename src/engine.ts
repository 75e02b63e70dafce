/**
 * The engine behind a Reactor: one poller, one pool, one channel table, and
 * the loop that moves messages between the app and the sockets (spec §6–§13).
 *
 * It runs on the JavaScript thread. A "turn" collects readiness with a
 * non-blocking wait, processes posted messages in post order, serves every
 * channel with activity, flushes writes, and reconciles interest; when there
 * is nothing left to do, the engine parks (waits off the JS thread) until the
 * OS reports readiness, so the event loop stays free and an idle engine uses
 * no CPU.
 *
 * @module
 */

import { setImmediate } from "node:timers";
import { AmpeError } from "./ampe_error.ts";
import { AmpeStatus } from "./status.ts";
import { OpCode } from "./opcode.ts";
import { MessageStore } from "./message_store.ts";
import { checkAndPrepare, detachStore, type Message, storeOf } from "./message.ts";
import { type BinaryHeader, snapshotHeader } from "./binary_header.ts";
import { MAX_FRAME_SIZE } from "./wire.ts";
import { DecodeResult } from "./frame_decoder.ts";
import { type AllocationStrategy, Pool } from "./pool.ts";
import { LISTENING_ON, parseAddress } from "./address.ts";
import { BackendId, type Native, NativeError } from "./native_port.ts";
import { PollerCore } from "./poller_core.ts";
import { Trigger } from "./triggers.ts";
import { ChannelNumbers } from "./channel_numbers.ts";
import {
  type Channel,
  ChannelKind,
  ChannelState,
  ConnectionChannel,
  ListenerChannel,
} from "./channel.ts";
import { BATCH_BYTES, FlushResult } from "./outbox.ts";
import { GroupCore } from "./group_core.ts";
import {
  addEngineHeader,
  addFailureHeaders,
  engineSignal,
  handBack,
  opCodeOf,
  setOpCode,
} from "./engine_messages.ts";
import {
  APP_BYE,
  BYE_ANSWERED,
  type Failure,
  failure,
  failureOf,
  INVALID_ADDRESS,
  PEER_CLOSED,
  PEER_SAID_BYE,
  PROTOCOL_ERROR,
} from "./failure.ts";
import { CloseReason } from "./close_reason.ts";
import { type ReactorStats, Traffic } from "./stats.ts";
import { Ring } from "./ring.ts";
import { isNumericHost, resolveHost } from "./resolve.ts";
import { SpinPolicy } from "./spin_policy.ts";
import { ReadSlabs } from "./read_slabs.ts";

const LISTEN_BACKLOG = 1024;
/** Bytes read per recv call: at most one maximal frame, so a starved channel holds at most that much. */
const READ_CHUNK = 128 * 1024;
/**
 * Read buffers that received bodies may borrow (zero-copy receive): at most
 * this many per engine (2 MiB); when all are lent, reads go to the scratch
 * buffer and bodies are copied.
 */
const READ_SLABS = 16;
/** Reads per channel per turn before other channels get their turn. */
const READS_PER_TURN = 8;
/** pool_empty Signals per channel are at least this far apart ([N10]). */
const POOL_EMPTY_INTERVAL_MS = 100;
/** After an accept failure (e.g. descriptor limit) the listener rests this long. */
const ACCEPT_PAUSE_MS = 100;
const ACCEPT_BATCH = 64;
/** A turn that only takes posts asks a scanning backend at most this often (ms). */
const POLL_SCAN_INTERVAL_MS = 0.2;
const encoder = new TextEncoder();
/** Statuses of a connect that never happened: its HelloRequest comes back as HelloResponse ([N4]). */
const CONNECT_FAILURES: ReadonlySet<number> = new Set([
  AmpeStatus.connectFailed,
  AmpeStatus.invalidAddress,
  AmpeStatus.udsPathNotFound,
  AmpeStatus.notImplementedYet,
]);

/** Engine construction parameters, already validated. */
export interface EngineConfig {
  native: Native;
  backend: number;
  initialPoolMsgs: number;
  maxPoolMsgs: number;
  udsPathLimit: number;
  /** After activity, keep polling this long (µs) before parking; 0 = park at once. */
  spinMicros: number;
  /**
   * How the engine waits off the JS thread: "waiter" = a native thread that
   * calls back (the default); "park" = a park call run by the runtime off the
   * JS thread (a Deno nonblocking call, a Bun worker), kept for comparison.
   */
  wake: "waiter" | "park";
}

const EngineState = { running: 0, destroying: 1, destroyed: 2 } as const;
type EngineState = typeof EngineState[keyof typeof EngineState];

/** The engine of one Reactor. */
export class Engine {
  readonly #native: Native;
  readonly #core: PollerCore;
  readonly pool: Pool;
  readonly #numbers = new ChannelNumbers();
  readonly #channels = new Map<number, Channel>();
  readonly #groups = new Set<GroupCore>();
  readonly #udsPathLimit: number;

  /** Posted messages and their channels, in post order. */
  readonly #inboxStores = new Ring<MessageStore>();
  readonly #inboxChannels = new Ring<Channel>();
  readonly #ready: Channel[] = [];
  /** Channels that got posts this turn (each once: `Channel.flushQueued`). */
  readonly #toFlush: ConnectionChannel[] = [];
  /** Channels whose interest may have changed this turn (each once: `Channel.touched`). */
  readonly #touched: Channel[] = [];
  readonly #starved = new Set<ConnectionChannel>();

  readonly #readScratch = new Uint8Array(READ_CHUNK);
  readonly #readSlabs = new ReadSlabs(READ_SLABS, READ_CHUNK);
  readonly #sendScratch = new Uint8Array(BATCH_BYTES + MAX_FRAME_SIZE);
  readonly #acceptOut = new Int32Array(ACCEPT_BATCH);
  readonly #sent = (store: MessageStore): void => this.pool.put(store);

  #state: EngineState = EngineState.running;
  #turnScheduled = false;
  /** A channel stopped early to let others run: turn again soon instead of parking. */
  #moreWork = false;
  readonly #spin: SpinPolicy;
  #park: Promise<void> | null = null;
  readonly #wake: "waiter" | "park";
  /** The waiter thread: not started yet, running, or failed to start (then the engine parks). */
  #waiter: "none" | "running" | "failed" = "none";
  /** The waiter is armed: a turn comes when something is ready. */
  #armed = false;
  /** The backend scans every socket per poll (see `#peekNeeded`). */
  readonly #scans: boolean;
  #lastPeekAt = 0;
  readonly #onReady = () => {
    this.#armed = false;
    this.#wakeUps++;
    this.#schedule();
  };
  /** Counters for `stats()`; traffic of destroyed groups is kept in `#goneTraffic`. */
  #wakeUps = 0;
  #turns = 0;
  #spinTurns = 0;
  readonly #goneTraffic = new Traffic();
  #gonePoolEmptyNotices = 0;
  #destroyed: Promise<void> | null = null;
  readonly #turn = () => this.#runTurn();

  /** Creates the engine; throws AmpeError if the OS poller cannot be made. */
  constructor(config: EngineConfig) {
    this.#native = config.native;
    const core = PollerCore.create(config.native, config.backend);
    if (typeof core === "number") {
      throw new AmpeError(
        AmpeStatus.allocationFailed,
        `Cannot create the poller: native error ${core} (OS error ${config.native.lastOsError()})`,
      );
    }
    this.#core = core;
    this.#udsPathLimit = config.udsPathLimit;
    this.#scans = scansEverySocket(core.backend);
    this.#spin = new SpinPolicy(config.spinMicros, undefined, this.#scans);
    this.#wake = config.wake;
    // Resume starved channels in a later turn, not a microtask: the app first
    // drains what is queued and puts it back, so reading resumes with a full
    // pool instead of one message at a time.
    this.pool = new Pool(config.initialPoolMsgs, config.maxPoolMsgs, () => this.#scheduleLater());
  }

  /** Name of the poller backend in use. */
  get backendName(): string {
    return this.#core.backendName;
  }

  /** True until destroy starts. */
  get running(): boolean {
    return this.#state === EngineState.running;
  }

  // ---- app-facing operations (called synchronously by Ampe / ChannelGroup) ----

  /** `ampe.get`: a reset message from the pool (or new with "always"). */
  get(strategy: AllocationStrategy): MessageStore | null {
    if (!this.running) throw shutdown("get a message");
    return this.pool.get(strategy);
  }

  /** A new channel group. */
  createGroup(): GroupCore {
    if (!this.running) throw shutdown("create a channel group");
    const group = new GroupCore();
    this.#groups.add(group);
    return group;
  }

  /** Removes every channel of the group without notifications, then closes its queue (spec §7.3). */
  destroyGroup(group: GroupCore): void {
    if (group.destroyed) return;
    group.destroyed = true;
    for (const ch of [...group.channels]) this.#dropChannel(ch);
    for (const store of group.closeQueue()) this.pool.put(store);
    this.#goneTraffic.add(group.closedTraffic);
    this.#gonePoolEmptyNotices += group.poolEmptyNotices;
    this.#groups.delete(group);
  }

  /** The figures of this engine and all its groups, now (see `ReactorStats`). */
  stats(): ReactorStats {
    const traffic = new Traffic();
    traffic.add(this.#goneTraffic);
    const channels = { listening: 0, opening: 0, open: 0 };
    let queued = 0;
    let poolEmptyNotices = this.#gonePoolEmptyNotices;
    for (const group of this.#groups) {
      const g = group.stats();
      traffic.add(g);
      channels.listening += g.channels.listening;
      channels.opening += g.channels.opening;
      channels.open += g.channels.open;
      queued += g.queued;
      poolEmptyNotices += g.poolEmptyNotices;
    }
    return {
      groups: this.#groups.size,
      channels,
      messagesIn: traffic.messagesIn,
      messagesOut: traffic.messagesOut,
      bytesIn: traffic.bytesIn,
      bytesOut: traffic.bytesOut,
      queued,
      poolEmptyNotices,
      pool: {
        free: this.pool.idle,
        inUse: this.pool.inUse,
        max: this.pool.max,
        refusals: this.pool.refusals,
      },
      wakeUps: this.#wakeUps,
      turns: this.#turns,
      spinTurns: this.#spinTurns,
    };
  }

  /** `post` (spec §8): validates synchronously, then queues the message for the engine. */
  post(group: GroupCore, msg: Message | null | undefined): BinaryHeader {
    if (msg === null || msg === undefined) {
      throw new AmpeError(AmpeStatus.nullMessage, "Cannot post a null message");
    }
    const store = storeOf(msg);
    if (!this.running || group.destroyed) throw shutdown("post a message");
    checkAndPrepare(store);
    let ch: Channel;
    if (store.channelNumber !== 0) {
      const existing = this.#channels.get(store.channelNumber);
      if (existing === undefined) {
        throw new AmpeError(
          AmpeStatus.invalidChannelNumber,
          `Cannot post to channel ${store.channelNumber}: no such open channel`,
        );
      }
      if (existing.group !== group) {
        throw new AmpeError(
          AmpeStatus.invalidMessageChannelGroup,
          `Cannot post to channel ${store.channelNumber}: it belongs to another channel group`,
        );
      }
      ch = existing;
    } else {
      ch = this.#newPostedChannel(group, store);
    }
    detachStore(msg);
    this.#inboxStores.push(store);
    this.#inboxChannels.push(ch);
    this.#schedule();
    return snapshotHeader(store);
  }

  /** Stops everything: channels closed without notifications, groups closed, poller freed (spec §7.4, [N11]). */
  destroy(): Promise<void> {
    if (this.#destroyed !== null) return this.#destroyed;
    this.#state = EngineState.destroying;
    for (const group of [...this.#groups]) this.destroyGroup(group);
    for (const ch of [...this.#channels.values()]) this.#dropChannel(ch);
    while (this.#inboxStores.length > 0) {
      this.pool.put(this.#inboxStores.shift()!);
      this.#inboxChannels.shift();
    }
    this.pool.close();
    this.#destroyed = this.#finishDestroy();
    return this.#destroyed;
  }

  async #finishDestroy(): Promise<void> {
    if (this.#park !== null) {
      this.#core.wake();
      await this.#park;
    }
    this.#core.destroy();
    // The waiter's last call must come before its callback may be freed.
    await this.#core.waiterStopped();
    this.#state = EngineState.destroyed;
    // The library closes once every user has let go of it and no park is pending.
    this.#native.unload();
  }

  // ---- the loop ----

  #schedule(): void {
    if (this.#turnScheduled || !this.running) return;
    this.#turnScheduled = true;
    queueMicrotask(this.#turn);
  }

  #scheduleLater(): void {
    if (this.#turnScheduled || !this.running) return;
    this.#turnScheduled = true;
    setImmediate(this.#turn);
  }

  #parkUntilReady(): void {
    if (!this.running) return;
    if (this.#wake === "waiter" && this.#waiter !== "failed") {
      if (this.#armed) return;
      if (this.#waiter === "none") {
        this.#waiter = this.#core.startWaiter(this.#onReady) < 0 ? "failed" : "running";
        if (this.#waiter === "failed") return this.#parkUntilReady();
      }
      this.#armed = true;
      this.#core.arm();
      return;
    }
    if (this.#park !== null) return;
    this.#park = this.#core.park(-1).then(() => {
      this.#park = null;
      this.#wakeUps++;
      this.#schedule();
    });
  }

  #runTurn(): void {
    this.#turnScheduled = false;
    if (!this.running) return;
    this.#turns++;
    const ready = this.#ready;
    // Wait in the kernel only while spinning with nothing else to do.
    const idle = this.#inboxStores.length === 0 && !(this.#starved.size > 0 && this.pool.idle > 0);
    const slice = idle ? this.#spin.sliceMicros() : 0;
    const started = slice > 0 ? performance.now() : 0;
    const more = this.#peekNeeded(idle) ? this.#core.poll(slice, ready) : false;
    if (slice > 0 && ready.length === 0) this.#spin.emptySliceTook(performance.now() - started);
    const arrived = ready.length > 0;
    const sent = this.#inboxStores.length > 0;
    const busy = arrived || sent;
    this.#processInbox();
    if (this.#starved.size > 0 && this.pool.idle > 0) this.#resumeStarved();
    for (let i = 0; i < ready.length; i++) {
      const ch = ready[i]!;
      const act = ch.act;
      ch.act = 0;
      if (ch.state !== ChannelState.closed) this.#serve(ch, act);
    }
    ready.length = 0;
    const toFlush = this.#toFlush;
    for (let i = 0; i < toFlush.length; i++) {
      const ch = toFlush[i]!;
      ch.flushQueued = false;
      if (ch.state === ChannelState.open) this.#flush(ch);
    }
    toFlush.length = 0;
    const touched = this.#touched;
    for (let i = 0; i < touched.length; i++) {
      const ch = touched[i]!;
      ch.touched = false;
      if (ch.state !== ChannelState.closed) this.#reconcile(ch);
    }
    touched.length = 0;
    const again = more || this.#moreWork || this.#inboxStores.length > 0;
    this.#moreWork = false;
    if (again) return this.#scheduleLater();
    if (this.#spin.keepWatching(busy, arrived, sent)) {
      this.#spinTurns++;
      return this.#scheduleLater();
    }
    this.#parkUntilReady();
  }

  /**
   * Whether this turn asks the OS what is ready. Always, except on a backend
   * whose every poll scans every socket (poll, WSAPoll), in a turn that only
   * takes the app's posts shortly after a poll: what became ready since is
   * found by the next poll, park or spin, and one scan per wake-up instead of
   * one per turn keeps idle channels cheap.
   */
  #peekNeeded(idle: boolean): boolean {
    if (!this.#scans) return true;
    const now = performance.now();
    if (!idle && now - this.#lastPeekAt < POLL_SCAN_INTERVAL_MS) return false;
    this.#lastPeekAt = now;
    return true;
  }

  #processInbox(): void {
    const count = this.#inboxStores.length;
    for (let i = 0; i < count; i++) {
      const store = this.#inboxStores.shift()!;
      const ch = this.#inboxChannels.shift()!;
      this.#processPosted(ch, store);
    }
  }

  // ---- posted messages (spec §9) ----

  #newPostedChannel(group: GroupCore, store: MessageStore): Channel {
    const number = this.#numbers.allocate();
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
    this.#channels.set(number, ch);
    group.channels.add(ch);
    return ch;
  }

  #processPosted(ch: Channel, store: MessageStore): void {
    if (ch.group.destroyed) {
      this.pool.put(store);
      return;
    }
    const op = opCodeOf(store);
    if (ch.state === ChannelState.closed) {
      this.#returnToApp(ch, store, AmpeStatus.channelClosed);
      return;
    }
    if (ch.kind === ChannelKind.listener) {
      if (op === OpCode.WelcomeRequest) return this.#startListener(ch, store);
      return this.#postToListener(ch, store, op);
    }
    if (op === OpCode.HelloRequest) return this.#startClient(ch, store);
    if (op === OpCode.ByeSignal) {
      this.#returnToApp(ch, store, AmpeStatus.channelClosed);
      this.#closeChannel(ch, APP_BYE);
      return;
    }
    ch.outbox.queue.push(store);
    if (ch.state === ChannelState.open && !ch.flushQueued) {
      ch.flushQueued = true;
      this.#toFlush.push(ch);
    }
  }

  /** [N8]: data to a listener comes back not_allowed; any Bye closes it (spec §9). */
  #postToListener(ch: ListenerChannel, store: MessageStore, op: number): void {
    if (op === OpCode.ByeSignal || op === OpCode.ByeRequest || op === OpCode.ByeResponse) {
      this.#returnToApp(ch, store, AmpeStatus.channelClosed);
      this.#closeChannel(ch, APP_BYE);
    } else {
      this.#returnToApp(ch, store, AmpeStatus.notAllowed);
    }
  }

  // ---- listeners (spec §10.1) ----

  #startListener(ch: ListenerChannel, store: MessageStore): void {
    const address = parseAddress(store, { udsPathLimit: this.#udsPathLimit });
    if (address.kind === "tcpServer") {
      if (isNumericHost(address.host)) {
        return this.#listenTcp(ch, store, address.host, address.port);
      }
      this.#resolveThen(
        ch,
        store,
        address.host,
        (ip) => this.#listenTcp(ch, store, ip, address.port),
      );
      return;
    }
    if (address.kind === "udsServer") {
      const sock = this.#native.udsListen(encoder.encode(address.path), LISTEN_BACKLOG);
      this.#listenDone(ch, store, sock, address.path === "" ? "uds" : null, "");
      return;
    }
    this.#failRequest(ch, store, INVALID_ADDRESS);
  }

  #listenTcp(ch: ListenerChannel, store: MessageStore, ip: string, port: number): void {
    const sock = this.#native.tcpListen(encoder.encode(ip), port, LISTEN_BACKLOG);
    this.#listenDone(ch, store, sock, port === 0 ? "tcp" : null, ip);
  }

  /**
   * `chosen` is set when the OS picked the address (TCP port 0, empty UDS
   * path): the WelcomeResponse then also carries `~listening_on` with the
   * real address, which Zig tofu could not report (spec §16.17).
   */
  #listenDone(
    ch: ListenerChannel,
    store: MessageStore,
    sock: number,
    chosen: "tcp" | "uds" | null,
    ip: string,
  ): void {
    if (sock < 0) return this.#failRequest(ch, store, failureOf(sock, "listen", this.#native));
    ch.sock = sock;
    ch.state = ChannelState.open;
    ch.expected = Trigger.accept;
    const attached = this.#core.attach(ch);
    if (attached < 0) {
      return this.#failRequest(ch, store, failureOf(attached, "listen", this.#native));
    }
    if (chosen !== null) this.#reportChosenAddress(store, sock, chosen, ip);
    // Success: the same message comes back as WelcomeResponse, origin application (spec §10.1).
    setOpCode(store, OpCode.WelcomeResponse);
    store.status = AmpeStatus.success;
    this.#deliver(ch, store);
  }

  #reportChosenAddress(store: MessageStore, sock: number, kind: "tcp" | "uds", ip: string): void {
    let value: string;
    if (kind === "tcp") {
      value = `tcp|${ip}|${this.#native.localPort(sock)}`;
    } else {
      const path = this.#native.udsPath(sock);
      if (typeof path === "number") return;
      value = `uds|${new TextDecoder().decode(path)}`;
    }
    addEngineHeader(store, LISTENING_ON, value);
  }

  #accept(listener: ListenerChannel): void {
    if (listener.acceptTimer !== undefined) return;
    for (let round = 0; round < 4; round++) {
      const n = this.#native.accept(listener.sock, this.#acceptOut);
      if (n < 0) {
        if (n !== NativeError.again) this.#pauseAccept(listener, n);
        return;
      }
      for (let i = 0; i < n; i++) this.#adopt(listener, this.#acceptOut[i]!);
      if (n < ACCEPT_BATCH) return;
    }
  }

  /** A new server-side channel for an accepted socket, owned by the listener's group (spec §10.3). */
  #adopt(listener: ListenerChannel, sock: number): void {
    const number = this.#numbers.allocate();
    if (number === 0) {
      this.#native.close(sock, true);
      return;
    }
    const group = listener.group;
    const ch = new ConnectionChannel(number, ChannelKind.server, group);
    ch.sock = sock;
    ch.state = ChannelState.open;
    ch.expected = Trigger.recv;
    this.#channels.set(number, ch);
    group.channels.add(ch);
    // A connection the poller cannot watch is closed before the app ever sees it.
    if (this.#core.attach(ch) < 0) this.#dropChannel(ch);
  }

  /**
   * Accept failed (typically the descriptor limit): tell the app once, with
   * the OS error, stop watching the listener for a moment instead of
   * spinning on it, retry later.
   */
  #pauseAccept(listener: ListenerChannel, code: number): void {
    const why = failureOf(code, "accept", this.#native);
    const note = engineSignal(
      this.pool.get("always")!,
      AmpeStatus.acceptFailed,
      listener.number,
      listener.welcomeMidHi,
      listener.welcomeMidLo,
    );
    addFailureHeaders(note, why);
    this.#deliver(listener, note);
    listener.expected = 0;
    this.#touch(listener);
    listener.acceptTimer = setTimeout(() => {
      listener.acceptTimer = undefined;
      if (listener.state !== ChannelState.open || !this.running) return;
      listener.expected = Trigger.accept;
      this.#reconcile(listener);
      this.#schedule();
    }, ACCEPT_PAUSE_MS);
  }

  // ---- clients (spec §10.2) ----

  #startClient(ch: ConnectionChannel, store: MessageStore): void {
    // The HelloRequest is the first frame to send; later posts queue behind it.
    ch.outbox.queue.push(store);
    const address = parseAddress(store, { udsPathLimit: this.#udsPathLimit });
    if (address.kind === "tcpClient") {
      const port = address.port;
      if (isNumericHost(address.host)) return this.#connectTcp(ch, address.host, port);
      this.#resolveThen(ch, null, address.host, (ip) => this.#connectTcp(ch, ip, port));
      return;
    }
    if (address.kind === "udsClient") {
      const sock = this.#native.udsConnect(encoder.encode(address.path));
      this.#connectStarted(ch, sock);
      return;
    }
    this.#closeChannel(ch, INVALID_ADDRESS);
  }

  #connectTcp(ch: ConnectionChannel, ip: string, port: number): void {
    this.#connectStarted(ch, this.#native.tcpConnect(encoder.encode(ip), port));
  }

  #connectStarted(ch: ConnectionChannel, sock: number): void {
    if (sock < 0) return this.#closeChannel(ch, failureOf(sock, "connect", this.#native));
    ch.sock = sock;
    ch.state = ChannelState.connecting;
    ch.expected = Trigger.connect;
    const attached = this.#core.attach(ch);
    if (attached < 0) this.#closeChannel(ch, failureOf(attached, "connect", this.#native));
  }

  #connectReady(ch: ConnectionChannel): void {
    const result = this.#native.connectCheck(ch.sock);
    if (result === NativeError.again) return;
    if (result < 0) return this.#closeChannel(ch, failureOf(result, "connect", this.#native));
    ch.state = ChannelState.open;
    ch.expected = Trigger.recv;
    this.#touch(ch);
    this.#flush(ch);
  }

  /** Resolves a host name off the JS thread, then continues; failure is invalid_address. */
  #resolveThen(
    ch: Channel,
    request: MessageStore | null,
    host: string,
    next: (ip: string) => void,
  ): void {
    ch.state = ChannelState.resolving;
    const fail = () => {
      if (request !== null) this.#failRequest(ch, request, INVALID_ADDRESS);
      else this.#closeChannel(ch, INVALID_ADDRESS);
    };
    resolveHost(host).then(
      (ip) => {
        if (ch.state !== ChannelState.resolving || !this.running) return;
        if (ip === null) fail();
        else next(ip);
        this.#schedule();
      },
      () => {
        if (ch.state !== ChannelState.resolving || !this.running) return;
        fail();
        this.#schedule();
      },
    );
  }

  // ---- channel activity ----

  #serve(ch: Channel, act: number): void {
    this.#touch(ch);
    if (ch.kind === ChannelKind.listener) {
      if (act & Trigger.err) {
        const status = act & Trigger.accept
          ? AmpeStatus.acceptFailed
          : AmpeStatus.communicationFailed;
        this.#closeChannel(ch, failure(status, CloseReason.pollerFailed));
      } else if (act & Trigger.accept) {
        this.#accept(ch);
      }
      return;
    }
    if (ch.state === ChannelState.connecting) {
      if (act & (Trigger.connect | Trigger.err)) this.#connectReady(ch);
      return;
    }
    if (act & Trigger.err) ch.peerGone = true;
    if (act & Trigger.send) this.#flush(ch);
    if (ch.state !== ChannelState.open) return;
    if (act & (Trigger.recv | Trigger.err)) this.#receive(ch);
  }

  /** Writes what the outbox holds; completed messages go back to the pool (spec §12). */
  #flush(ch: ConnectionChannel): void {
    const result = ch.outbox.flush(this.#native, ch.sock, this.#sendScratch, this.#sent);
    if (result === FlushResult.failed) {
      ch.failure ??= failureOf(ch.outbox.failedWith, "io", this.#native);
      ch.peerGone = true;
      this.#receive(ch);
      return;
    }
    const wantSend = result === FlushResult.blocked;
    const has = (ch.expected & Trigger.send) !== 0;
    if (wantSend !== has) {
      ch.expected = wantSend ? ch.expected | Trigger.send : ch.expected & ~Trigger.send;
      this.#touch(ch);
    }
  }

  /**
   * Reads and hands over complete frames while the pool has messages to
   * receive into (spec §3.4, §12). A peer that is gone is drained first and
   * then closed ([N5]); a protocol violation aborts the channel ([N1]).
   */
  #receive(ch: ConnectionChannel): void {
    const decoder = ch.decoder;
    let drained = false;
    for (let reads = 0;;) {
      while (decoder.hasFrame()) {
        const store = this.pool.get("poolOnly");
        if (store === null) return this.#starve(ch);
        if (decoder.next(store) === DecodeResult.protocolError) {
          this.pool.put(store);
          this.#closeChannel(ch, PROTOCOL_ERROR);
          return;
        }
        store.channelNumber = ch.number;
        ch.noteMid0(store.midHi, store.midLo);
        ch.messagesIn++;
        this.#deliver(ch, store);
        const op = opCodeOf(store);
        if (op === OpCode.ByeResponse) return this.#closeChannel(ch, BYE_ANSWERED);
        if (op === OpCode.ByeRequest) ch.peerSaidBye = true;
      }
      if (drained) {
        // A short read took all there was; a level-triggered poller reports
        // the socket again when more arrives, so no extra read that would
        // only say "would block".
        decoder.retain();
        return;
      }
      if (reads === READS_PER_TURN) {
        decoder.retain();
        this.#moreWork = true;
        return;
      }
      if (this.pool.idle === 0) {
        this.pool.get("poolOnly"); // records the refusal, so a later put wakes the engine
        return this.#starve(ch);
      }
      // Read buffers are shared: whatever the decoder still borrows from one
      // (a partial frame) must be copied out before it is overwritten. Bodies
      // of whole frames borrow the slab read into; with none free, the scratch
      // buffer is read into and bodies are copied.
      decoder.retain();
      const slab = this.#readSlabs.forRead();
      const buffer = slab === null ? this.#readScratch : slab.bytes;
      const n = this.#native.recv(ch.sock, buffer, 0, READ_CHUNK);
      reads++;
      if (n === NativeError.again) {
        if (ch.peerGone) this.#closeChannel(ch, this.#departure(ch));
        return;
      }
      if (n < 0) ch.failure ??= failureOf(n, "io", this.#native);
      if (n <= 0) return this.#closeChannel(ch, this.#departure(ch));
      ch.bytesIn += n;
      decoder.feed(buffer, 0, n, slab);
      // A departing peer is read until the end of its stream ([N5]).
      drained = n < READ_CHUNK && !ch.peerGone;
    }
  }

  /**
   * Why a connection whose peer left is closed. After a Bye the peer's
   * leaving is the expected end, even as a reset (the side that gets the
   * ByeResponse closes abortively); otherwise what broke it, if anything did.
   */
  #departure(ch: ConnectionChannel): Failure {
    if (ch.peerSaidBye || ch.outbox.byeSent) return PEER_SAID_BYE;
    return ch.failure ?? PEER_CLOSED;
  }

  // ---- pool starvation (spec §12, [N10]) ----

  #starve(ch: ConnectionChannel): void {
    ch.decoder.retain();
    if (ch.peerGone) {
      // A starved channel whose peer is gone cannot be drained: close it now.
      this.#closeChannel(ch, this.#departure(ch));
      return;
    }
    if (!ch.starved) {
      ch.starved = true;
      this.#starved.add(ch);
      this.#notifyPoolEmpty(ch);
    }
    ch.expected &= ~Trigger.recv;
    this.#touch(ch);
  }

  #notifyPoolEmpty(ch: ConnectionChannel): void {
    const now = performance.now();
    const wait = ch.lastPoolEmptyAt + POOL_EMPTY_INTERVAL_MS - now;
    if (wait <= 0) {
      ch.lastPoolEmptyAt = now;
      ch.group.poolEmptyNotices++;
      // Made, not taken from the pool: the pool is what is empty.
      this.#deliver(ch, engineSignal(new MessageStore(), AmpeStatus.poolEmpty, ch.number));
      return;
    }
    if (ch.poolEmptyTimer !== undefined) return;
    ch.poolEmptyTimer = setTimeout(() => {
      ch.poolEmptyTimer = undefined;
      if (ch.starved && ch.state === ChannelState.open && this.running) this.#notifyPoolEmpty(ch);
    }, wait);
  }

  #resumeStarved(): void {
    for (const ch of this.#starved) {
      if (this.pool.idle === 0) {
        // Channels are still waiting: record the refusal, so that the next put wakes the engine.
        this.pool.get("poolOnly");
        return;
      }
      this.#starved.delete(ch);
      ch.starved = false;
      if (ch.state !== ChannelState.open) continue;
      ch.expected |= Trigger.recv;
      this.#touch(ch);
      this.#receive(ch);
    }
  }

  // ---- closing (spec §11) ----

  /** A Hello/Welcome request failed before its channel opened: the request comes back as the response. */
  #failRequest(ch: Channel, request: MessageStore, why: Failure): void {
    const response = opCodeOf(request) === OpCode.WelcomeRequest
      ? OpCode.WelcomeResponse
      : OpCode.HelloResponse;
    setOpCode(request, response);
    addFailureHeaders(request, why);
    this.#returnToApp(ch, request, why.status);
    this.#closeChannel(ch, why);
  }

  /**
   * Deletes a channel with its close bundle: every unsent message returned
   * with the failure's status, then one `channel_closed` Signal that says
   * why (`~reason`, and the OS error if one caused it); then the socket is
   * closed abortively and the number released (spec §11).
   */
  #closeChannel(ch: Channel, why: Failure): void {
    if (ch.state === ChannelState.closed) return;
    let midHi: number;
    let midLo: number;
    if (ch.kind === ChannelKind.listener) {
      midHi = ch.welcomeMidHi;
      midLo = ch.welcomeMidLo;
    } else {
      const connectFailure = CONNECT_FAILURES.has(why.status);
      for (const store of ch.outbox.takeUnsent()) {
        // [N4]: a HelloRequest that never got through comes back as HelloResponse.
        if (connectFailure && opCodeOf(store) === OpCode.HelloRequest) {
          setOpCode(store, OpCode.HelloResponse);
          addFailureHeaders(store, why);
        }
        this.#returnToApp(ch, store, why.status);
      }
      midHi = ch.mid0Hi;
      midLo = ch.mid0Lo;
    }
    const last = engineSignal(
      this.pool.get("always")!,
      AmpeStatus.channelClosed,
      ch.number,
      midHi,
      midLo,
    );
    addFailureHeaders(last, why);
    this.#deliver(ch, last);
    this.#dropChannel(ch);
  }

  /** Deletes a channel without notifications: unsent messages go back to the pool. */
  #dropChannel(ch: Channel): void {
    if (ch.state === ChannelState.closed) return;
    ch.state = ChannelState.closed;
    if (ch.sock >= 0) {
      this.#core.detach(ch);
      this.#native.close(ch.sock, true);
      ch.sock = -1;
    }
    if (ch.kind === ChannelKind.listener) {
      if (ch.acceptTimer !== undefined) clearTimeout(ch.acceptTimer);
      ch.acceptTimer = undefined;
    } else {
      for (const store of ch.outbox.takeUnsent()) this.pool.put(store);
      ch.decoder.reset();
      if (ch.poolEmptyTimer !== undefined) clearTimeout(ch.poolEmptyTimer);
      ch.poolEmptyTimer = undefined;
      this.#starved.delete(ch);
    }
    this.#numbers.release(ch.number);
    this.#channels.delete(ch.number);
    ch.group.forget(ch);
  }

  /**
   * Applies the channel's interest to the poller. A change the OS refuses
   * would leave the channel watched for the wrong events (stalled, or
   * spinning), so the channel is closed with communication_failed instead.
   */
  #reconcile(ch: Channel): void {
    const result = this.#core.reconcile(ch);
    if (result < 0) this.#closeChannel(ch, failureOf(result, "poller", this.#native));
  }

  /** Lists the channel for interest reconciliation at the end of the turn. */
  #touch(ch: Channel): void {
    if (ch.touched) return;
    ch.touched = true;
    this.#touched.push(ch);
  }

  /** Returns a posted message to the app as ⟨op | E | status | ch | mid⟩. */
  #returnToApp(ch: Channel, store: MessageStore, status: AmpeStatus): void {
    handBack(store, status, ch.number);
    this.#deliver(ch, store);
  }

  #deliver(ch: Channel, store: MessageStore): void {
    if (ch.group.destroyed) this.pool.put(store);
    else ch.group.deliver(store);
  }
}

function shutdown(action: string): AmpeError {
  return new AmpeError(
    AmpeStatus.shutdownStarted,
    `Cannot ${action}: the engine or channel group was destroyed`,
  );
}

/** True for backends whose every poll scans every registered socket (poll, WSAPoll). */
function scansEverySocket(backend: number): boolean {
  return backend === BackendId.poll || backend === BackendId.wsapoll;
}
