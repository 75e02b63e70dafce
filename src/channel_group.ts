/**
 * ChannelGroup: a set of channels with one receive queue (spec §7.2).
 *
 * @module
 */

import { AmpeError } from "./ampe_error.ts";
import { AmpeStatus } from "./status.ts";
import { MessageStore } from "./message_store.ts";
import { detachStore, type Message, storeOf, wrapStore } from "./message.ts";
import type { BinaryHeader } from "./binary_header.ts";
import { OpCode } from "./opcode.ts";
import type { Engine } from "./engine.ts";
import type { GroupCore } from "./group_core.ts";

/** Wait forever in `waitReceive`. */
export const WAIT_INFINITE: number = Infinity;
/** One second, in `waitReceive` units (milliseconds). */
export const WAIT_SECOND = 1000;

/** Options of `waitReceive`. */
export interface WaitReceiveOptions {
  /** Aborting rejects the pending wait with the signal's reason. */
  signal?: AbortSignal;
}

const ORIGIN_MASK = 0x10;

/**
 * A set of channels sharing one receive queue. Every outcome for its channels
 * (data, failures, closes, pool exhaustion) arrives as a message through
 * `waitReceive` or async iteration.
 *
 * @example
 * ```ts
 * import { AllocationStrategy, Reactor, TCPServerAddress } from "./mod.ts";
 *
 * await using rtr = await Reactor.create();
 * const ampe = rtr.ampe();
 * const group = ampe.create();
 * const msg = ampe.get(AllocationStrategy.always)!;
 * new TCPServerAddress("127.0.0.1", 0).format(msg);
 * group.post(msg);
 * const reply = await group.waitReceive(1000);
 * ampe.put(reply);
 * ```
 */
export class ChannelGroup {
  readonly #engine: Engine;
  readonly #core: GroupCore;

  /** Made by `Ampe.create()`; not constructed directly. */
  constructor(engine: Engine, core: GroupCore) {
    this.#engine = engine;
    this.#core = core;
  }

  /**
   * Validates and queues a message for sending (spec §7.2, §8). On success
   * the message object is consumed (later use throws `nullMessage`) and the
   * final binary header (assigned channel and message id) is returned. On a
   * synchronous error an `AmpeError` is thrown and the caller keeps the message.
   */
  post(msg: Message): BinaryHeader {
    return this.#engine.post(this.#core, msg);
  }

  /**
   * The next message for this group, waiting up to `timeoutMs` milliseconds
   * (`0` = only what is queued, `WAIT_INFINITE` = no limit). Resolves null on
   * timeout; rejects with `AmpeError` `shutdownStarted` once the group or its
   * engine is destroyed, or with the signal's reason when aborted.
   */
  waitReceive(timeoutMs: number, opts?: WaitReceiveOptions): Promise<Message | null> {
    if (typeof timeoutMs !== "number" || Number.isNaN(timeoutMs) || timeoutMs < 0) {
      return Promise.reject(
        new RangeError(`Cannot wait: timeout must be a number >= 0, got ${timeoutMs}`),
      );
    }
    const queue = this.#core.queue;
    if (queue.closed) {
      return Promise.reject(
        new AmpeError(
          AmpeStatus.shutdownStarted,
          "Cannot receive: the channel group was destroyed",
        ),
      );
    }
    const store = queue.shift();
    if (store !== undefined) return Promise.resolve(wrapStore(store));
    if (timeoutMs === 0) return Promise.resolve(null);
    const signal = opts?.signal;
    if (signal?.aborted) return Promise.reject(signal.reason);
    return queue.take(timeoutMs, signal);
  }

  /**
   * The next queued message, or null if none is queued, without waiting and
   * without a promise: a consumer that drains bursts with it pays no promise
   * per message. Throws `AmpeError` `shutdownStarted` once the group or its
   * engine is destroyed.
   */
  tryReceive(): Message | null {
    const queue = this.#core.queue;
    if (queue.closed) {
      throw new AmpeError(
        AmpeStatus.shutdownStarted,
        "Cannot receive: the channel group was destroyed",
      );
    }
    const store = queue.shift();
    return store === undefined ? null : wrapStore(store);
  }

  /**
   * Puts a message straight into this group's receive queue (spec §7.2):
   * with no argument, a fresh `⟨Signal | engine | receiver_update⟩`; with a
   * message, that message with status `receiver_update` (consumed). Used to
   * wake or command whoever waits on the group.
   */
  updateReceiver(msg?: Message | null): void {
    if (this.#core.destroyed) {
      throw new AmpeError(
        AmpeStatus.shutdownStarted,
        "Cannot update the receiver: the channel group was destroyed",
      );
    }
    let store: MessageStore;
    if (msg === null || msg === undefined) {
      store = new MessageStore();
      store.proto = OpCode.Signal | ORIGIN_MASK;
    } else {
      storeOf(msg);
      store = detachStore(msg);
      store.proto &= ~ORIGIN_MASK;
    }
    store.status = AmpeStatus.receiverUpdate;
    this.#core.deliver(store);
  }

  /** Yields every received message until the group or engine is destroyed. */
  async *[Symbol.asyncIterator](): AsyncIterator<Message> {
    for (;;) {
      let msg: Message | null;
      try {
        msg = await this.waitReceive(WAIT_INFINITE);
      } catch (err) {
        if (err instanceof AmpeError && err.status === AmpeStatus.shutdownStarted) return;
        throw err;
      }
      if (msg !== null) yield msg;
    }
  }
}
