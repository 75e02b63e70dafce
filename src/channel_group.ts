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
import { Engine } from "./engine.ts";
import { GroupCore } from "./group_core.ts";
import { checkMessage } from "./store_handle.ts";
import { describeValue } from "./describe_value.ts";

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

// The private constructor, for newChannelGroup; set by the class's static block.
let makeGroup: (engine: Engine, core: GroupCore) => ChannelGroup;

/** Internal: the group of `core` in `engine` (`Ampe.create()` makes groups this way). */
export function newChannelGroup(engine: Engine, core: GroupCore): ChannelGroup {
  return makeGroup(engine, core);
}

// JavaScript callers can pass anything as the options of a wait.
function checkWaitOptions(opts: WaitReceiveOptions | undefined): AmpeError | null {
  if (opts === undefined || opts === null) return null;
  if (typeof opts !== "object") {
    return new AmpeError(
      AmpeStatus.notAllowed,
      `Cannot wait: the options must be an object, got ${describeValue(opts)}`,
    );
  }
  const signal = opts.signal;
  if (signal !== undefined && !(signal instanceof AbortSignal)) {
    return new AmpeError(
      AmpeStatus.notAllowed,
      `Cannot wait: signal must be an AbortSignal, got ${describeValue(signal)}`,
    );
  }
  return null;
}

/**
 * A set of channels sharing one receive queue. Every outcome for its channels
 * (data, failures, closes, pool exhaustion) arrives as a message through
 * `waitReceive` or async iteration.
 *
 * @example
 * ```ts
 * import { AllocationStrategy, Reactor, TCPServerAddress } from "@tofu/tofu";
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

  /**
   * Made by `Ampe.create()` (through {@linkcode newChannelGroup}); called
   * from JavaScript with anything else than an engine's group it throws
   * `AmpeError` (`notAllowed`).
   *
   * @ignore
   */
  private constructor(engine: Engine, core: GroupCore) {
    if (!(engine instanceof Engine && core instanceof GroupCore)) {
      throw new AmpeError(AmpeStatus.notAllowed, "A ChannelGroup is made by ampe.create()");
    }
    this.#engine = engine;
    this.#core = core;
  }

  static {
    makeGroup = (engine, core) => new ChannelGroup(engine, core);
  }

  /**
   * Validates and queues a message for sending (spec §7.2, §8). On success
   * the message object is consumed (later use throws `nullMessage`) and the
   * final binary header is returned: the assigned channel, and the message id
   * (a bigint) that the answer will carry. On a synchronous error an
   * `AmpeError` is thrown and the caller keeps the message (`nullMessage` for
   * no message or one already handed over, `invalidMessage` for anything else
   * than a message).
   */
  post(msg: Message): BinaryHeader {
    checkMessage(msg, "post");
    return this.#engine.post(this.#core, msg);
  }

  /**
   * The next message for this group, waiting up to `timeoutMs` milliseconds
   * (`0` = only what is queued, `WAIT_INFINITE` = no limit). Resolves null on
   * timeout; rejects with `AmpeError` `shutdownStarted` once the group or its
   * engine is destroyed, or with the signal's reason when aborted; with
   * `notAllowed` for a timeout that is not a number >= 0 or a `signal` that
   * is not an `AbortSignal`.
   */
  waitReceive(timeoutMs: number, opts?: WaitReceiveOptions): Promise<Message | null> {
    const refused = this.#refuseWait(timeoutMs, opts);
    if (refused !== null) return refused;
    const queue = this.#core.queue;
    const store = queue.shift();
    if (store !== undefined) return Promise.resolve(wrapStore(store));
    if (timeoutMs === 0) return Promise.resolve(null);
    return queue.take(timeoutMs, opts?.signal);
  }

  /**
   * Up to `max` messages in arrival order, waiting up to `timeoutMs`
   * milliseconds for the first one (`0` = only what is queued,
   * `WAIT_INFINITE` = no limit): it resolves as soon as at least one message
   * is there, with everything then queued up to `max`, and with an empty
   * array on timeout. One promise per batch instead of one per message, for
   * apps that stream. Every message is yours as if from `waitReceive`; the
   * array is yours too. `max` must be an integer >= 1 (else `AmpeError`
   * `notAllowed`); rejects like `waitReceive`.
   *
   * @example
   * ```ts
   * import { Reactor } from "@tofu/tofu";
   *
   * await using rtr = await Reactor.create();
   * const ampe = rtr.ampe();
   * const group = ampe.create();
   * group.updateReceiver(); // something to receive
   * for (const msg of await group.receiveBatch(256, 1000)) {
   *   // ... read msg ...
   *   ampe.put(msg);
   * }
   * ```
   */
  receiveBatch(max: number, timeoutMs: number, opts?: WaitReceiveOptions): Promise<Message[]> {
    if (!(Number.isInteger(max) && max >= 1)) {
      return Promise.reject(
        new AmpeError(
          AmpeStatus.notAllowed,
          `Cannot receive a batch: max must be an integer >= 1, got ${describeValue(max)}`,
        ),
      );
    }
    const refused = this.#refuseWait(timeoutMs, opts);
    if (refused !== null) return refused;
    const queue = this.#core.queue;
    if (queue.length > 0) return Promise.resolve(this.#drainInto([], max));
    if (timeoutMs === 0) return Promise.resolve([]);
    // The first message wakes the wait; whatever the same engine turn queued behind it
    // is there by the time the continuation runs.
    return queue.take(timeoutMs, opts?.signal).then((first) =>
      first === null ? [] : this.#drainInto([first], max)
    );
  }

  /** Why a wait cannot start (as a rejected promise), or null. */
  #refuseWait(timeoutMs: number, opts: WaitReceiveOptions | undefined): Promise<never> | null {
    if (typeof timeoutMs !== "number" || Number.isNaN(timeoutMs) || timeoutMs < 0) {
      return Promise.reject(
        new AmpeError(
          AmpeStatus.notAllowed,
          `Cannot wait: timeout must be a number of milliseconds >= 0, got ${
            describeValue(timeoutMs)
          }`,
        ),
      );
    }
    const optsError = checkWaitOptions(opts);
    if (optsError !== null) return Promise.reject(optsError);
    if (this.#core.queue.closed) {
      return Promise.reject(
        new AmpeError(
          AmpeStatus.shutdownStarted,
          "Cannot receive: the channel group was destroyed",
        ),
      );
    }
    const signal = opts?.signal;
    if (signal?.aborted && this.#core.queue.length === 0 && timeoutMs !== 0) {
      return Promise.reject(signal.reason);
    }
    return null;
  }

  /** Moves queued messages into `out` until it holds `max`; returns `out`. */
  #drainInto(out: Message[], max: number): Message[] {
    const queue = this.#core.queue;
    while (out.length < max) {
      const store = queue.shift();
      if (store === undefined) break;
      out.push(wrapStore(store));
    }
    return out;
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
   * wake or command whoever waits on the group. Anything else than a message
   * throws `AmpeError` (`invalidMessage`).
   */
  updateReceiver(msg?: Message | null): void {
    if (msg !== null && msg !== undefined) checkMessage(msg, "update the receiver");
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

  /**
   * Yields every received message until the group or engine is destroyed.
   * Queued messages are handed out without waiting; for many at a time see
   * `receiveBatch`.
   */
  [Symbol.asyncIterator](): AsyncIterator<Message> {
    let finished = false;
    const done: IteratorResult<Message> = { value: undefined, done: true };
    const ended = (err: unknown): IteratorResult<Message> => {
      if (err instanceof AmpeError && err.status === AmpeStatus.shutdownStarted) {
        finished = true;
        return done;
      }
      throw err;
    };
    // An endless wait never resolves null.
    const item = (msg: Message | null): IteratorResult<Message> => ({ value: msg!, done: false });
    return {
      next: (): Promise<IteratorResult<Message>> => {
        if (finished) return Promise.resolve(done);
        const queue = this.#core.queue;
        if (!queue.closed) {
          const store = queue.shift();
          if (store !== undefined) return Promise.resolve({ value: wrapStore(store), done: false });
        }
        return this.waitReceive(WAIT_INFINITE).then(item, ended);
      },
      return: (): Promise<IteratorResult<Message>> => {
        finished = true;
        return Promise.resolve(done);
      },
    };
  }
}
