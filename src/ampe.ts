/**
 * Ampe: the app's handle on an engine (spec §7.1): the message pool and the
 * channel groups.
 *
 * @module
 */

import { AmpeError } from "./ampe_error.ts";
import { AmpeStatus } from "./status.ts";
import { detachStore, type Message, wrapStore } from "./message.ts";
import { AllocationStrategy } from "./pool.ts";
import { type ChannelGroup, newChannelGroup } from "./channel_group.ts";
import { Engine } from "./engine.ts";
import { describeValue } from "./describe_value.ts";
import { checkMessage } from "./store_handle.ts";
import type { GroupCore } from "./group_core.ts";
import { checkWaitArgs, type WaitReceiveOptions } from "./wait_args.ts";

// The private constructor, for newAmpe; set by the class's static block.
let makeAmpe: (engine: Engine) => Ampe;

/** Internal: the Ampe of `engine` (`Reactor` makes its one Ampe this way). */
export function newAmpe(engine: Engine): Ampe {
  return makeAmpe(engine);
}

/** The pool and group operations of one engine. */
export class Ampe {
  readonly #engine: Engine;
  readonly #groups = new WeakMap<ChannelGroup, GroupCore>();

  /**
   * Made by `Reactor.ampe()` (through {@linkcode newAmpe}); called from
   * JavaScript with anything else than an engine it throws `AmpeError`
   * (`notAllowed`).
   *
   * @ignore
   */
  private constructor(engine: Engine) {
    if (!(engine instanceof Engine)) {
      throw new AmpeError(AmpeStatus.notAllowed, "An Ampe is made by Reactor.ampe()");
    }
    this.#engine = engine;
  }

  static {
    makeAmpe = (engine) => new Ampe(engine);
  }

  /**
   * A reset message: from the pool, or newly made with `"always"` when the pool
   * is empty. `"poolOnly"` returns null when the pool is empty (and the
   * engine remembers it, to resume receiving as soon as messages come back).
   * Throws `AmpeError`: `shutdownStarted` after the engine was destroyed,
   * `notAllowed` for another strategy.
   */
  get(strategy: AllocationStrategy): Message | null {
    if (strategy !== AllocationStrategy.poolOnly && strategy !== AllocationStrategy.always) {
      throw new AmpeError(
        AmpeStatus.notAllowed,
        `Cannot get a message: the allocation strategy must be "poolOnly" or "always", got ${
          describeValue(strategy)
        }`,
      );
    }
    const store = this.#engine.get(strategy);
    return store === null ? null : wrapStore(store);
  }

  /**
   * A reset message from the pool, waiting up to `timeoutMs` milliseconds
   * for one to come back when the pool is empty (`0` = only what is idle now,
   * `WAIT_INFINITE` = no limit). Messages come back when the app puts them
   * back and when the engine has written them, so a sender that takes
   * messages from the pool only waits here, without using the CPU, until the
   * socket has taken what it posted (the pool is its flow control, spec §12).
   * Apps waiting at once are served in the order they asked. Resolves null on
   * timeout; rejects with `AmpeError` `shutdownStarted` once the engine is
   * destroyed, with the signal's reason when aborted, and with `notAllowed`
   * for a timeout that is not a number >= 0 or a `signal` that is not an
   * `AbortSignal`.
   *
   * @example
   * ```ts
   * import { AllocationStrategy, OpCode, Reactor, WAIT_INFINITE } from "@tofu/tofu";
   *
   * await using rtr = await Reactor.create({ initialPoolMsgs: 1, maxPoolMsgs: 1 });
   * const ampe = rtr.ampe();
   * const first = ampe.get(AllocationStrategy.poolOnly)!; // the pool's only message
   * setTimeout(() => ampe.put(first), 10); // back in 10 ms (as the engine does once it is sent)
   * const msg = ampe.get(AllocationStrategy.poolOnly) ?? await ampe.waitGet(WAIT_INFINITE);
   * msg!.bhdr.proto.opCode = OpCode.Signal;
   * ampe.put(msg);
   * ```
   */
  waitGet(timeoutMs: number, opts?: WaitReceiveOptions): Promise<Message | null> {
    const argsError = checkWaitArgs(timeoutMs, opts);
    if (argsError !== null) return Promise.reject(argsError);
    return this.#engine.waitGet(timeoutMs, opts?.signal);
  }

  /**
   * Gives a message back to the pool (null or undefined: nothing happens).
   * The object is consumed: any later use throws `nullMessage`. After engine
   * destroy the message is dropped. Anything else than a message throws
   * `AmpeError` (`invalidMessage`); a message already handed over throws
   * `nullMessage`.
   */
  put(msg: Message | null | undefined): void {
    if (msg === null || msg === undefined) return;
    checkMessage(msg, "put a message back");
    const store = detachStore(msg);
    this.#engine.pool.put(store);
  }

  /** A new channel group. Throws `shutdownStarted` after the engine was destroyed. */
  create(): ChannelGroup {
    const core = this.#engine.createGroup();
    const group = newChannelGroup(this.#engine, core);
    this.#groups.set(group, core);
    return group;
  }

  /**
   * Destroys a group (spec §7.3): its channels are closed abortively without
   * notifications, waiters reject with `shutdownStarted`, queued messages go
   * back to the pool. A second destroy is a no-op.
   */
  destroy(group: ChannelGroup): Promise<void> {
    const core = this.#groups.get(group);
    if (core === undefined) {
      return Promise.reject(
        new AmpeError(
          AmpeStatus.invalidMessageChannelGroup,
          "Cannot destroy a channel group of another engine",
        ),
      );
    }
    this.#engine.destroyGroup(core);
    return Promise.resolve();
  }
}
