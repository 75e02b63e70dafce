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
