/**
 * Reactor: creates and destroys one tofu engine (spec §7.1, §7.4).
 *
 * @module
 */

import process from "node:process";
import { AmpeError } from "./ampe_error.ts";
import { readEnv } from "./env.ts";
import { AmpeStatus } from "./status.ts";
import { normalizePoolOptions } from "./pool.ts";
import {
  BackendId,
  backendIdOf,
  type BackendName,
  backendName,
  loadNativeAsync,
  type Native,
  NativeLoadError,
} from "./native_port.ts";
import { Engine } from "./engine.ts";
import { type Ampe, newAmpe } from "./ampe.ts";
import { describeValue } from "./describe_value.ts";
import type { ReactorStats } from "./stats.ts";
import type { WakeKind } from "./poller_core.ts";

export type { BackendName };

/** Engine options. */
export interface Options {
  /** Messages created in the pool at start. @default {16} */
  initialPoolMsgs?: number;
  /** Idle messages the pool keeps at most. @default {64} */
  maxPoolMsgs?: number;
  /**
   * Forces a compiled-in poller backend (also settable with the environment
   * variable `TOFU_BACKEND`). Unknown or unavailable: an error, never a
   * silent fallback. @default the OS's best
   */
  backend?: BackendName;
  /** Path of the native library to load instead of the prebuilt one (also `TOFU_NATIVE_LIB`). */
  nativeLibrary?: string;
  /**
   * The longest the engine keeps watching its sockets on the JS thread after
   * activity (yielding to the event loop between looks) before it parks and
   * lets a native thread wait: first by polling, then in short kernel waits
   * that cost little CPU. An answer within the watch is picked up without the
   * cost of a cross-thread wake. The engine watches only as long as it
   * expects something to come (about twice the usual gap between arrivals,
   * or between its sends and their replies), so at loads whose gaps are
   * longer than this it parks at once. 0: always park at once (least CPU).
   * @default {1000}
   */
  spinMicros?: number;
}

/** Default engine options: 16 initial and at most 64 idle pooled messages. */
export const DefaultOptions: Readonly<Options> = Object.freeze({
  initialPoolMsgs: 16,
  maxPoolMsgs: 64,
});

/** sun_path sizes: paths must be shorter than this (spec §5.4). */
function udsPathLimit(): number {
  const bsd = process.platform === "darwin" || process.platform === "freebsd" ||
    process.platform === "openbsd";
  return bsd ? 104 : 108;
}

function chooseBackend(native: Native, requested: string | undefined): number {
  if (requested === undefined || requested === "") return BackendId.default;
  const available = Object.values(BackendId)
    .filter((id) => id !== BackendId.default && (native.backends() & (1 << id)) !== 0)
    .map(backendName);
  const id = backendIdOf(requested);
  if (id === undefined || (native.backends() & (1 << id)) === 0) {
    throw new AmpeError(
      AmpeStatus.notAllowed,
      `Cannot use poller backend "${requested}": not available in ${native.path} (available: ${
        available.join(", ")
      })`,
    );
  }
  return id;
}

const WAKE_KINDS = ["kernel", "thread", "park"] as const satisfies readonly WakeKind[];

/** `TOFU_WAKE`: how engines prefer to wait (for diagnosis and comparison; default "kernel"). */
function wakeOf(requested: string | undefined): WakeKind {
  if (requested === undefined || requested === "") return "kernel";
  const kind = WAKE_KINDS.find((k): k is WakeKind => k === requested);
  if (kind === undefined) {
    throw new AmpeError(
      AmpeStatus.notAllowed,
      `Cannot wait the way TOFU_WAKE="${requested}" asks: choose one of ${WAKE_KINDS.join(", ")}`,
    );
  }
  return kind;
}

const DEFAULT_SPIN_MICROS = 1000;
const MAX_SPIN_MICROS = 100_000;

function spinMicrosOf(value: number | undefined): number {
  if (value === undefined) return DEFAULT_SPIN_MICROS;
  if (
    typeof value !== "number" || !Number.isFinite(value) || value < 0 || value > MAX_SPIN_MICROS
  ) {
    throw badOption(`spinMicros must be a number from 0 to ${MAX_SPIN_MICROS}`, value);
  }
  return value;
}

function badOption(rule: string, value: unknown): AmpeError {
  return new AmpeError(
    AmpeStatus.notAllowed,
    `Cannot create the engine: ${rule}, got ${describeValue(value)}`,
  );
}

// JavaScript callers can pass anything: every option is checked before anything is loaded.
function checkOptions(options: unknown): Options {
  if (options === undefined || options === null) return DefaultOptions;
  if (typeof options !== "object") throw badOption("the options must be an object", options);
  const o = options as Record<string, unknown>;
  for (const name of ["initialPoolMsgs", "maxPoolMsgs"]) {
    const value = o[name];
    if (value === undefined || value === null) continue;
    if (!(typeof value === "number" && Number.isInteger(value) && value >= 0 && value <= 0xffff)) {
      throw badOption(`${name} must be an integer 0..65535`, value);
    }
  }
  for (const name of ["backend", "nativeLibrary"]) {
    const value = o[name];
    if (value !== undefined && typeof value !== "string") {
      throw badOption(`${name} must be a string`, value);
    }
  }
  spinMicrosOf(o.spinMicros as number | undefined);
  return options as Options;
}

/**
 * One tofu engine: a poller, a message pool and channel groups, driven from
 * the JavaScript event loop without ever blocking it.
 *
 * @example
 * ```ts
 * import { Reactor } from "@tofu/tofu";
 *
 * await using rtr = await Reactor.create({ initialPoolMsgs: 32, maxPoolMsgs: 128 });
 * const ampe = rtr.ampe();
 * console.log(rtr.backend); // "epoll" on Linux
 * ```
 */
export class Reactor implements AsyncDisposable {
  readonly #engine: Engine;
  readonly #ampe: Ampe;

  /** @ignore */
  private constructor(engine: Engine) {
    this.#engine = engine;
    this.#ampe = newAmpe(engine);
  }

  /**
   * Starts an engine. Rejects with `AmpeError`: `notAllowed` for options of
   * the wrong type or range (see {@linkcode Options}) or a backend that is
   * not available, `allocationFailed` if the native library or the poller
   * cannot be set up.
   */
  static async create(options: Options = DefaultOptions): Promise<Reactor> {
    try {
      const checked = checkOptions(options);
      const pool = normalizePoolOptions(checked);
      const libraryPath = checked.nativeLibrary;
      const native = await loadNativeAsync(libraryPath === undefined ? {} : { path: libraryPath });
      try {
        const backend = chooseBackend(native, checked.backend ?? readEnv("TOFU_BACKEND"));
        const engine = new Engine({
          native,
          backend,
          initialPoolMsgs: pool.initialPoolMsgs,
          maxPoolMsgs: pool.maxPoolMsgs,
          udsPathLimit: udsPathLimit(),
          spinMicros: spinMicrosOf(checked.spinMicros),
          wake: wakeOf(readEnv("TOFU_WAKE")),
        });
        return new Reactor(engine);
      } catch (err) {
        native.unload();
        throw err;
      }
    } catch (err) {
      if (err instanceof AmpeError) throw err;
      // Its message is complete (every attempt, every missing permission); as a cause it
      // would be printed a second time below the AmpeError.
      if (err instanceof NativeLoadError) {
        throw new AmpeError(
          AmpeStatus.allocationFailed,
          `Cannot create the engine: ${err.message}`,
        );
      }
      throw new AmpeError(
        AmpeStatus.allocationFailed,
        `Cannot create the engine: ${(err as Error).message}`,
        { cause: err },
      );
    }
  }

  /** The poller backend really in use: "epoll", "kqueue", "poll", "afd" or "wsapoll". */
  get backend(): string {
    return this.#engine.backendName;
  }

  /**
   * What the engine is doing, as plain numbers: the pool, channels by state,
   * messages and bytes in and out, queued messages, `pool_empty` notices,
   * wake-ups and turns (see {@linkcode ReactorStats}). Cheap enough to read
   * every second: one walk over the channels, no per-message cost.
   *
   * @example
   * ```ts
   * import { Reactor } from "@tofu/tofu";
   * await using rtr = await Reactor.create();
   * const s = rtr.stats();
   * console.log(s.pool.free, s.channels.open, s.messagesIn, s.bytesOut);
   * ```
   */
  stats(): ReactorStats {
    return this.#engine.stats();
  }

  /** The pool and group operations of this engine. */
  ampe(): Ampe {
    return this.#ampe;
  }

  /**
   * Stops the engine (spec §7.4, [N11]): every channel is closed abortively,
   * every group is closed (waiters reject with `shutdownStarted`), later calls
   * fail with `shutdownStarted`. Idempotent; resolves when the poller is freed.
   */
  destroy(): Promise<void> {
    return this.#engine.destroy();
  }

  /** Same as `destroy()`, for `await using`. */
  [Symbol.asyncDispose](): Promise<void> {
    return this.destroy();
  }
}
