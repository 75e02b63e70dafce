/**
 * The poller core (spec §13.3): channels are registered under a token that is
 * never reused while the engine lives, and events are routed token -> channel,
 * so a stale event for a closed socket whose descriptor got reused can never
 * reach the new channel. It reconciles each channel's expected triggers with
 * the OS interest and turns raw OS masks into Triggers.
 *
 * @module
 */

import type { Native } from "./native_port.ts";
import type { ReactorStats } from "./stats.ts";
import { BackendId, backendName } from "./native_port.ts";
import {
  type BackendFamily,
  type MaskTranslator,
  maskTranslator,
  osInterestOf,
} from "./triggers.ts";

/** What the poller core needs of a channel. */
export interface Pollable {
  /** Native socket handle. */
  readonly sock: number;
  /** Token assigned by `attach`; 0 = not attached. */
  token: number;
  /** Expected triggers (interest), maintained by the reactor. */
  expected: number;
  /** OS interest currently registered. */
  registeredOs: number;
  /** Activity of the last poll (0 = none). */
  act: number;
}

/** The afd backend reports its readiness in epoll's bit values. */
function familyOf(backend: number): BackendFamily {
  if (backend === BackendId.kqueue) return "kqueue";
  return backend === BackendId.epoll || backend === BackendId.afd ? "epoll" : "poll";
}

/**
 * What wakes a parked engine: the kernel itself ("kernel", Linux io_uring),
 * a native waiter thread ("thread"), or a park run off the JS thread ("park");
 * the names are those `ReactorStats.wake` reports.
 */
export type WakeKind = Exclude<ReactorStats["wake"], "none">;

const EVENT_CAPACITY = 512;
const LAST_TOKEN = 0x7fffffff;

/** Token routing, interest reconciliation and the OS wait of one engine. */
export class PollerCore {
  readonly #native: Native;
  readonly #poller: number;
  readonly #translate: MaskTranslator;
  readonly #byToken = new Map<number, Pollable>();
  readonly #events = new Int32Array(EVENT_CAPACITY * 2);
  #nextToken = 1;
  #waiter: Exclude<WakeKind, "park"> | undefined;
  /** The backend this poller really uses. */
  readonly backend: number;

  /** Creates the OS poller (throws nothing: `create` returns a negative code instead). */
  private constructor(native: Native, poller: number) {
    this.#native = native;
    this.#poller = poller;
    this.backend = native.pollerBackend(poller);
    this.#translate = maskTranslator(familyOf(this.backend), native.maskBits(this.backend));
  }

  /** A new poller core, or the negative native code of the failure. */
  static create(native: Native, backend: number): PollerCore | number {
    const poller = native.pollerCreate(backend);
    return poller < 0 ? poller : new PollerCore(native, poller);
  }

  /** Name of the backend in use ("epoll", "poll", ...). */
  get backendName(): string {
    return backendName(this.backend) ?? `backend ${this.backend}`;
  }

  /**
   * Starts routing events of `p` to it, with its current expected triggers.
   * Returns 0 or the negative native code of a refused registration.
   */
  attach(p: Pollable): number {
    p.token = this.#allocateToken();
    this.#byToken.set(p.token, p);
    p.registeredOs = osInterestOf(p.expected);
    return this.#native.pollerRegister(this.#poller, p.sock, p.token, p.registeredOs);
  }

  /** Stops routing and watching `p` (its socket stays open). */
  detach(p: Pollable): void {
    if (p.token === 0) return;
    this.#byToken.delete(p.token);
    this.#native.pollerUnregister(this.#poller, p.sock);
    p.token = 0;
    p.registeredOs = 0;
    p.act = 0;
  }

  /**
   * Brings the OS interest of `p` in line with its expected triggers. Returns
   * 0, or the negative native code when the OS refused the change (the old
   * interest may then still be in force: the caller must not go on as if).
   */
  reconcile(p: Pollable): number {
    if (p.token === 0) return 0;
    const os = osInterestOf(p.expected);
    if (os === p.registeredOs) return 0;
    const code = this.#native.pollerModify(this.#poller, p.sock, p.token, os);
    if (code < 0) return code;
    p.registeredOs = os;
    return 0;
  }

  /**
   * Waits up to `timeoutMicros` (0 = just look) and appends every channel
   * with activity to `ready` (once each, activity in `act`). Returns true if
   * the event buffer was full (more may be ready right away).
   */
  poll(timeoutMicros: number, ready: Pollable[]): boolean {
    const n = this.#native.pollerWaitUs(this.#poller, this.#events, timeoutMicros);
    const events = this.#events;
    for (let i = 0; i < n; i++) {
      const p = this.#byToken.get(events[2 * i]!);
      if (p === undefined) continue;
      const act = this.#translate(events[2 * i + 1]!, p.expected);
      if (act === 0) continue;
      if (p.act === 0) ready.push(p);
      p.act |= act;
    }
    return n === EVENT_CAPACITY;
  }

  /** Resolves when something may be ready (or on wake / timeout), off the JS thread. */
  park(timeoutMs: number): Promise<number> {
    return this.#native.pollerPark(this.#poller, timeoutMs);
  }

  /**
   * Starts the kernel wake: after each `arm`, `onReady` runs on the JS thread
   * once something may be ready, told by the kernel itself (the JS thread is
   * woken once, as by the runtime's own sockets). False where the OS, the
   * runtime or the backend has none.
   */
  startKernelWake(onReady: () => void): boolean {
    if (this.#native.kernelWakeStart(this.#poller, onReady) !== 0) return false;
    this.#waiter = "kernel";
    return true;
  }

  /**
   * Starts the native waiter thread: after each `arm`, `onReady` runs on the
   * JS thread once something may be ready. False if it could not start.
   */
  startWaiter(onReady: () => void): boolean {
    if (this.#native.waiterStart(this.#poller, onReady) !== 0) return false;
    this.#waiter = "thread";
    return true;
  }

  /** Lets the waiter wait once more. */
  arm(): number {
    return this.#waiter === "kernel"
      ? this.#native.kernelWakeArm(this.#poller)
      : this.#native.waiterArm(this.#poller);
  }

  /** Resolves once the waiter has stopped for good (after `destroy`). */
  waiterStopped(): Promise<void> {
    return this.#native.waiterStopped(this.#poller);
  }

  /** Interrupts a pending park. */
  wake(): void {
    this.#native.pollerWake(this.#poller);
  }

  /** Frees the OS poller; attached sockets are forgotten, not closed. */
  destroy(): void {
    this.#byToken.clear();
    this.#native.pollerDestroy(this.#poller);
  }

  #allocateToken(): number {
    for (;;) {
      const token = this.#nextToken;
      this.#nextToken = token === LAST_TOKEN ? 1 : token + 1;
      if (!this.#byToken.has(token)) return token;
    }
  }
}
