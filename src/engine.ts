/**
 * The engine behind a Reactor: one poller, one pool, one channel table, and
 * the loop that moves messages between the app and the sockets (spec §6–§13).
 *
 * It runs on the JavaScript thread. A "turn" collects readiness with a
 * non-blocking wait, processes posted messages in post order, serves every
 * channel with activity, flushes writes, and reconciles interest; when there
 * is nothing left to do, the engine waits off the JS thread until the OS
 * reports readiness, so the event loop stays free and an idle engine uses no
 * CPU. What a channel does lives beside it: opening (`channel_opening.ts`),
 * moving frames (`connection_io.ts`), closing (`channel_closing.ts`).
 *
 * @module
 */

import { setImmediate } from "node:timers";
import { AmpeError } from "./ampe_error.ts";
import { AmpeStatus } from "./status.ts";
import { OpCode } from "./opcode.ts";
import type { MessageStore } from "./message_store.ts";
import { checkAndPrepare, detachStore, type Message, storeOf, wrapStore } from "./message.ts";
import { type BinaryHeader, snapshotHeader } from "./binary_header.ts";
import { AllocationStrategy, Pool } from "./pool.ts";
import { BackendId, type Native } from "./native_port.ts";
import { PollerCore } from "./poller_core.ts";
import { Trigger } from "./triggers.ts";
import {
  type Channel,
  ChannelKind,
  ChannelState,
  type ConnectionChannel,
  type ListenerChannel,
} from "./channel.ts";
import { GroupCore } from "./group_core.ts";
import { Ring } from "./ring.ts";
import { ReceiveQueue } from "./receive_queue.ts";
import { SpinPolicy } from "./spin_policy.ts";
import type { WakeKind } from "./poller_core.ts";
import { opCodeOf } from "./engine_messages.ts";
import { APP_BYE, failure } from "./failure.ts";
import { CloseReason } from "./close_reason.ts";
import { type ReactorStats, Traffic } from "./stats.ts";
import { EngineContext } from "./engine_context.ts";
import {
  acceptConnections,
  connectReady,
  newPostedChannel,
  startClient,
  startListener,
} from "./channel_opening.ts";
import { flush, receive, resumeStarved } from "./connection_io.ts";
import { closeChannel, dropChannel, reconcile } from "./channel_closing.ts";

/** A turn that only takes posts asks a scanning backend at most this often (ms). */
const POLL_SCAN_INTERVAL_MS = 0.2;

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
   * How the engine prefers to wait off the JS thread: "kernel" = the kernel
   * wake where the OS has one, else a waiter thread (the default); "thread"
   * = a native waiter thread that calls back; "park" = a park call run by
   * the runtime off the JS thread (a Deno nonblocking call, a Bun worker).
   * Each falls back to the next where it cannot run.
   */
  wake: WakeKind;
}

const EngineState = { running: 0, destroying: 1, destroyed: 2 } as const;
type EngineState = typeof EngineState[keyof typeof EngineState];

/** The engine of one Reactor. */
export class Engine {
  readonly pool: Pool;
  readonly #ctx: EngineContext;
  readonly #core: PollerCore;
  readonly #groups = new Set<GroupCore>();

  /** Apps waiting in `waitGet` for a store to come back to the pool. */
  readonly #poolWaiters = new ReceiveQueue<MessageStore, Message>(
    wrapStore,
    () => shutdown("get a message"),
  );
  /** Posted messages and their channels, in post order, waiting for the turn. */
  readonly #inboxStores = new Ring<MessageStore>();
  readonly #inboxChannels = new Ring<Channel>();
  /** Messages posted since the last turn began (queued in the inbox or straight to send). */
  #posted = 0;
  /** Channels the last poll found ready. */
  readonly #ready: Channel[] = [];

  #state: EngineState = EngineState.running;
  #turnScheduled = false;
  readonly #turn = () => this.#runTurn();
  readonly #spin: SpinPolicy;
  readonly #wake: WakeKind;
  #park: Promise<void> | null = null;
  /** What wakes the engine once it parks; undefined until its first park. */
  #waitBy: WakeKind | undefined;
  /** The waiter is armed: a turn comes when something is ready. */
  #armed = false;
  readonly #onReady = () => {
    this.#armed = false;
    this.#wakeUps++;
    this.#schedule();
  };
  /** The backend scans every socket per poll (see `#peekNeeded`). */
  readonly #scans: boolean;
  #lastPeekAt = 0;
  #destroyed: Promise<void> | null = null;

  /** Counters for `stats()`; what destroyed groups carried is kept apart. */
  #wakeUps = 0;
  #turns = 0;
  #spinTurns = 0;
  readonly #goneTraffic = new Traffic();
  #gonePoolEmptyNotices = 0;

  /** Creates the engine; throws AmpeError if the OS poller cannot be made. */
  constructor(config: EngineConfig) {
    const core = PollerCore.create(config.native, config.backend);
    if (typeof core === "number") {
      throw new AmpeError(
        AmpeStatus.allocationFailed,
        `Cannot create the poller: native error ${core} (OS error ${config.native.lastOsError()})`,
      );
    }
    this.#core = core;
    this.#scans = scansEverySocket(core.backend);
    this.#spin = new SpinPolicy(config.spinMicros, undefined, this.#scans);
    this.#wake = config.wake;
    // Started with the engine, so that its socket is there from the start.
    if (config.wake === "kernel" && core.startKernelWake(this.#onReady)) {
      this.#waitBy = "kernel";
      this.#spin.cheapWake();
    }
    // Resume starved channels in a later turn, not a microtask: the app first
    // drains what is queued and puts it back, so reading resumes with a full
    // pool instead of one message at a time.
    this.pool = new Pool(
      config.initialPoolMsgs,
      config.maxPoolMsgs,
      () => this.#scheduleLater(),
      (store) => this.#handToWaiter(store),
    );
    this.#ctx = new EngineContext(
      config.native,
      core,
      this.pool,
      config.udsPathLimit,
      () => this.#schedule(),
    );
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

  /**
   * `ampe.waitGet`: an idle store now, else the next one put back (by the app,
   * or by the engine once it is written), or null after `timeoutMs`.
   */
  waitGet(timeoutMs: number, signal: AbortSignal | undefined): Promise<Message | null> {
    if (!this.running) return Promise.reject(shutdown("get a message"));
    // Not `get`: a wait is not a refusal, and waiting apps are served in order.
    if (this.pool.idle > 0 && this.#poolWaiters.waiting === 0) {
      return Promise.resolve(wrapStore(this.pool.get(AllocationStrategy.poolOnly)!));
    }
    if (timeoutMs === 0) return Promise.resolve(null);
    if (signal?.aborted) return Promise.reject(signal.reason);
    this.pool.wanted = true;
    return this.#poolWaiters.take(timeoutMs, signal);
  }

  /** A store put back goes to the app that waits longest for one, if any does. */
  #handToWaiter(store: MessageStore): boolean {
    const waiters = this.#poolWaiters;
    if (waiters.waiting === 0) {
      this.pool.wanted = false; // the waits ended (timeout, abort): stop asking
      return false;
    }
    waiters.push(store);
    if (waiters.waiting === 0) this.pool.wanted = false;
    return true;
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
    for (const ch of [...group.channels]) dropChannel(this.#ctx, ch);
    for (const store of group.closeQueue()) this.pool.put(store);
    this.#goneTraffic.add(group.closedTraffic);
    this.#gonePoolEmptyNotices += group.poolEmptyNotices;
    this.#groups.delete(group);
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
      const existing = this.#ctx.channels.get(store.channelNumber);
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
      ch = newPostedChannel(this.#ctx, group, store);
    }
    detachStore(msg);
    const header = snapshotHeader(store);
    this.#posted++;
    // Data for an open connection goes straight to its send queue when nothing posted
    // earlier still waits in the inbox (order is kept); everything else waits for the turn.
    if (
      this.#inboxStores.length === 0 && ch.state === ChannelState.open &&
      ch.kind !== ChannelKind.listener && opCodeOf(store) !== OpCode.ByeSignal
    ) {
      queueToSend(this.#ctx, ch, store);
    } else {
      this.#inboxStores.push(store);
      this.#inboxChannels.push(ch);
    }
    this.#schedule();
    return header;
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
      wake: this.#waitBy ?? "none",
      turns: this.#turns,
      spinTurns: this.#spinTurns,
    };
  }

  /** Stops everything: channels closed without notifications, groups closed, poller freed (spec §7.4, [N11]). */
  destroy(): Promise<void> {
    if (this.#destroyed !== null) return this.#destroyed;
    this.#state = EngineState.destroying;
    this.#ctx.running = false;
    for (const group of [...this.#groups]) this.destroyGroup(group);
    for (const ch of [...this.#ctx.channels.values()]) dropChannel(this.#ctx, ch);
    while (this.#inboxStores.length > 0) {
      this.pool.put(this.#inboxStores.shift()!);
      this.#inboxChannels.shift();
    }
    this.pool.close();
    this.#poolWaiters.close();
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
    this.#ctx.native.unload();
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

  /** Waits off the JS thread for readiness: the kernel wake or waiter's callback, or a park. */
  #parkUntilReady(): void {
    if (!this.running) return;
    this.#waitBy ??= this.#startWaiter();
    if (this.#waitBy !== "park") {
      if (this.#armed) return;
      this.#armed = true;
      if (this.#core.arm() >= 0) return;
      // The wake could not be armed (the OS refused it): park from now on.
      this.#armed = false;
      this.#waitBy = "park";
    }
    if (this.#park !== null) return;
    this.#park = this.#core.park(-1).then(() => {
      this.#park = null;
      this.#wakeUps++;
      this.#schedule();
    });
  }

  /** The waiter thread where it can run, else the park (the kernel wake starts with the engine). */
  #startWaiter(): WakeKind {
    if (this.#wake === "park") return "park";
    return this.#core.startWaiter(this.#onReady) ? "thread" : "park";
  }

  #runTurn(): void {
    this.#turnScheduled = false;
    if (!this.running) return;
    this.#turns++;
    const ctx = this.#ctx;
    const ready = this.#ready;
    // Wait in the kernel only while spinning with nothing else to do.
    const posted = this.#posted;
    this.#posted = 0;
    const idle = posted === 0 &&
      !(ctx.starved.size > 0 && this.pool.idle > 0);
    const slice = idle ? this.#spin.sliceMicros() : 0;
    const started = slice > 0 ? performance.now() : 0;
    const more = this.#peekNeeded(idle) ? this.#core.poll(slice, ready) : false;
    if (slice > 0 && ready.length === 0) this.#spin.emptySliceTook(performance.now() - started);
    const arrived = ready.length > 0;
    const sent = posted > 0;
    this.#processInbox();
    if (ctx.starved.size > 0 && this.pool.idle > 0) resumeStarved(ctx);
    for (let i = 0; i < ready.length; i++) {
      const ch = ready[i]!;
      const act = ch.act;
      ch.act = 0;
      if (ch.state !== ChannelState.closed) this.#serve(ch, act);
    }
    ready.length = 0;
    const toFlush = ctx.toFlush;
    for (let i = 0; i < toFlush.length; i++) {
      const ch = toFlush[i]!;
      ch.flushQueued = false;
      if (ch.state === ChannelState.open) flush(ctx, ch);
    }
    toFlush.length = 0;
    const touched = ctx.touched;
    for (let i = 0; i < touched.length; i++) {
      const ch = touched[i]!;
      ch.touched = false;
      if (ch.state !== ChannelState.closed) reconcile(ctx, ch);
    }
    touched.length = 0;
    const again = more || ctx.moreWork || this.#inboxStores.length > 0;
    ctx.moreWork = false;
    if (again) return this.#scheduleLater();
    if (this.#spin.keepWatching(arrived || sent, arrived, sent)) {
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

  #processPosted(ch: Channel, store: MessageStore): void {
    const ctx = this.#ctx;
    if (ch.group.destroyed) {
      this.pool.put(store);
      return;
    }
    const op = opCodeOf(store);
    if (ch.state === ChannelState.closed) {
      ctx.returnToApp(ch, store, AmpeStatus.channelClosed);
      return;
    }
    if (ch.kind === ChannelKind.listener) {
      if (op === OpCode.WelcomeRequest) return startListener(ctx, ch, store);
      return this.#postToListener(ch, store, op);
    }
    if (op === OpCode.HelloRequest) return startClient(ctx, ch, store);
    if (op === OpCode.ByeSignal) {
      ctx.returnToApp(ch, store, AmpeStatus.channelClosed);
      closeChannel(ctx, ch, APP_BYE);
      return;
    }
    queueToSend(ctx, ch, store);
  }

  /** [N8]: data to a listener comes back not_allowed; any Bye closes it (spec §9). */
  #postToListener(ch: ListenerChannel, store: MessageStore, op: number): void {
    if (op === OpCode.ByeSignal || op === OpCode.ByeRequest || op === OpCode.ByeResponse) {
      this.#ctx.returnToApp(ch, store, AmpeStatus.channelClosed);
      closeChannel(this.#ctx, ch, APP_BYE);
    } else {
      this.#ctx.returnToApp(ch, store, AmpeStatus.notAllowed);
    }
  }

  // ---- channels with activity ----

  #serve(ch: Channel, act: number): void {
    const ctx = this.#ctx;
    ctx.touch(ch);
    if (ch.kind === ChannelKind.listener) {
      if (act & Trigger.err) {
        const status = act & Trigger.accept
          ? AmpeStatus.acceptFailed
          : AmpeStatus.communicationFailed;
        closeChannel(ctx, ch, failure(status, CloseReason.pollerFailed));
      } else if (act & Trigger.accept) {
        acceptConnections(ctx, ch);
      }
      return;
    }
    if (ch.state === ChannelState.connecting) {
      if (act & (Trigger.connect | Trigger.err)) connectReady(ctx, ch);
      return;
    }
    if (act & Trigger.err) ch.peerGone = true;
    if (act & Trigger.send) flush(ctx, ch);
    if (ch.state !== ChannelState.open) return;
    if (act & (Trigger.recv | Trigger.err)) receive(ctx, ch);
  }
}

/** Queues `store` on the connection's outbox; an open one is flushed at the end of the turn. */
function queueToSend(ctx: EngineContext, ch: ConnectionChannel, store: MessageStore): void {
  ch.outbox.queue.push(store);
  if (ch.state === ChannelState.open && !ch.flushQueued) {
    ch.flushQueued = true;
    ctx.toFlush.push(ch);
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
