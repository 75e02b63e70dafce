/**
 * The message pool (spec §7.1, §12): a LIFO free list of message stores that
 * also acts as the receive-side backpressure valve.
 *
 * @module
 */

import { AmpeError } from "./ampe_error.ts";
import { MessageStore } from "./message_store.ts";
import { AmpeStatus } from "./status.ts";

/**
 * How `get` may obtain a message: `poolOnly` takes an idle one or returns
 * null, `always` allocates when the pool is empty.
 *
 * @example
 * ```ts
 * import { AllocationStrategy } from "./pool.ts";
 * AllocationStrategy.poolOnly; // "poolOnly"
 * ```
 */
export const AllocationStrategy: {
  /** Only a pooled message: `ampe.get` returns null when the pool is empty. */
  readonly poolOnly: "poolOnly";
  /** A pooled message, or a new one when the pool is empty. */
  readonly always: "always";
} = { poolOnly: "poolOnly", always: "always" } as const;

/** `"poolOnly"` or `"always"`. */
export type AllocationStrategy = typeof AllocationStrategy[keyof typeof AllocationStrategy];

/** Pool sizes as an application gives them (both optional; 0 or null means default). */
export interface PoolOptions {
  /** Messages created at start; default 16. */
  initialPoolMsgs?: number | null | undefined;
  /** Most idle messages kept; default 64, never below the initial count. */
  maxPoolMsgs?: number | null | undefined;
}

/** Pool sizes after normalisation. */
export interface NormalizedPoolOptions {
  /** Messages created at start (>= 1). */
  initialPoolMsgs: number;
  /** Most idle messages kept (>= initialPoolMsgs). */
  maxPoolMsgs: number;
}

const DEFAULT_INITIAL = 16;
const DEFAULT_MAX = 64;

function size(name: string, value: number | null | undefined, fallback: number): number {
  if (value === null || value === undefined || value === 0) return fallback;
  if (!(Number.isInteger(value) && value > 0 && value <= 0xffff)) {
    throw new AmpeError(AmpeStatus.notAllowed, `${name} must be an integer 0..65535, got ${value}`);
  }
  return value;
}

/**
 * Spec §7.1: null, undefined or 0 give 16 and 64; a max below the initial
 * count is raised to it. Values that are not integers 0..65535 (u16 in Zig)
 * throw `AmpeError` (`notAllowed`).
 *
 * @example
 * ```ts
 * import { normalizePoolOptions } from "./pool.ts";
 * normalizePoolOptions({ initialPoolMsgs: 32, maxPoolMsgs: 8 });
 * // { initialPoolMsgs: 32, maxPoolMsgs: 32 }
 * ```
 */
export function normalizePoolOptions(opts?: PoolOptions | null): NormalizedPoolOptions {
  const initialPoolMsgs = size("initialPoolMsgs", opts?.initialPoolMsgs, DEFAULT_INITIAL);
  const maxPoolMsgs = size("maxPoolMsgs", opts?.maxPoolMsgs, DEFAULT_MAX);
  return { initialPoolMsgs, maxPoolMsgs: Math.max(maxPoolMsgs, initialPoolMsgs) };
}

/**
 * Idle message stores, last put first out. `onFreed` runs when a put lands
 * in an empty pool after a `poolOnly` get was refused (the engine then
 * resumes channels that were starved of messages). While `wanted` is set,
 * `handOff` is offered every store put back, reset, before it becomes idle: it
 * returns true when it took the store (an app waiting for one), which then
 * stays in use.
 *
 * @example
 * ```ts
 * import { Pool } from "./pool.ts";
 * const pool = new Pool(1, 1);
 * const a = pool.get("poolOnly"); // the one initial store
 * pool.get("poolOnly"); // null
 * pool.put(a!);
 * pool.idle; // 1
 * ```
 */
export class Pool {
  readonly #idle: MessageStore[] = [];
  readonly #max: number;
  readonly #onFreed: (() => void) | undefined;
  readonly #handOff: ((store: MessageStore) => boolean) | undefined;
  /** Set while `handOff` may take stores (an app waits): a put checks one field otherwise. */
  wanted = false;
  #refused = false;
  #closed = false;
  /** Stores handed out and not put back, and gets that found nothing (for stats). */
  #inUse = 0;
  #refusals = 0;

  /**
   * Creates `initial` stores and keeps at most `max` idle ones; both are
   * normalised first (see {@linkcode normalizePoolOptions}).
   */
  constructor(
    initial?: number | null,
    max?: number | null,
    onFreed?: () => void,
    handOff?: (store: MessageStore) => boolean,
  ) {
    const { initialPoolMsgs, maxPoolMsgs } = normalizePoolOptions({
      initialPoolMsgs: initial,
      maxPoolMsgs: max,
    });
    this.#max = maxPoolMsgs;
    this.#onFreed = onFreed;
    this.#handOff = handOff;
    for (let i = 0; i < initialPoolMsgs; i++) this.#idle.push(new MessageStore());
  }

  /** Number of idle stores. */
  get idle(): number {
    return this.#idle.length;
  }

  /** Most idle stores kept. */
  get max(): number {
    return this.#max;
  }

  /** Stores handed out (`get`) and not put back yet. */
  get inUse(): number {
    return this.#inUse;
  }

  /** Gets that found nothing to give. */
  get refusals(): number {
    return this.#refusals;
  }

  /** True after `close()`. */
  get closed(): boolean {
    return this.#closed;
  }

  /**
   * A reset store: the last one put back, or with `always` a new one when
   * the pool is empty; `poolOnly` on an empty pool returns null. After
   * `close()` throws `AmpeError` (`shutdownStarted`).
   */
  get(strategy: AllocationStrategy): MessageStore | null {
    if (this.#closed) throw closedError();
    const store = this.#idle.pop();
    if (store !== undefined) {
      this.#inUse++;
      return store;
    }
    if (strategy === AllocationStrategy.always) {
      this.#inUse++;
      return new MessageStore();
    }
    this.#refused = true;
    this.#refusals++;
    return null;
  }

  /** A new store, counted as in use like one from `get`, that leaves the idle ones alone. */
  make(): MessageStore {
    if (this.#closed) throw closedError();
    this.#inUse++;
    return new MessageStore();
  }

  /**
   * Resets `store` and, while `wanted`, hands it to `handOff` if that takes it; else keeps it
   * unless `max` stores are already idle or the pool is closed (then it is
   * dropped). Never throws.
   */
  put(store: MessageStore): void {
    if (this.#closed) return;
    store.reset();
    if (this.wanted && this.#handOff !== undefined && this.#handOff(store)) return;
    if (this.#inUse > 0) this.#inUse--;
    if (this.#idle.length >= this.#max) return;
    this.#idle.push(store);
    if (this.#refused && this.#idle.length === 1) {
      this.#refused = false;
      this.#onFreed?.();
    }
  }

  /** Drops every idle store; later puts drop theirs and gets throw. */
  close(): void {
    this.#closed = true;
    this.#idle.length = 0;
  }
}

function closedError(): AmpeError {
  return new AmpeError(
    AmpeStatus.shutdownStarted,
    "The message pool is closed: the engine was destroyed",
  );
}
