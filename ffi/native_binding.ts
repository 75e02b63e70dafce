/**
 * The `Native` implementation shared by both runtimes.
 *
 * Both `Deno.dlopen` and `bun:ffi` present the library as plain synchronous
 * functions with the same argument lists (see `NativeSymbols`), so one class
 * wraps them; an adapter supplies only the opened functions, a way to run the
 * blocking park off the JS thread, and a way to close everything.
 *
 * @module
 */

import { type Native, NativeError } from "./native.ts";
import {
  type CallbackPointer,
  type NativeSymbols,
  SENDV_MAX_SEGS,
  SENDV_SLOTS,
} from "./symbols.ts";
import type { WakeSocket, WakeSocketFactory } from "./wake_socket.ts";

/**
 * A JavaScript function that native threads may call: the call runs it on the
 * JS thread, as a task of the event loop.
 */
export interface ThreadSafeCallback {
  /** The code pointer to hand to `tofu_waiter_start`. */
  readonly pointer: CallbackPointer;
  /** Frees it; no thread may call it afterwards. */
  close(): void;
}

/** What a runtime adapter hands to {@linkcode NativeBinding}. */
export interface OpenedLibrary {
  /** The library's functions, callable synchronously on the JS thread. */
  readonly symbols: NativeSymbols;
  /** Runs `tofu_poller_park` off the JS thread; the JS event loop keeps running. */
  park(poller: number, timeoutMs: number): Promise<number>;
  /**
   * Makes a `void (int32 poller, int32 event)` callback that native threads
   * may call, or is undefined where waiter threads are not safe to use (then
   * engines park instead).
   */
  readonly threadSafeCallback:
    | ((fn: (poller: number, event: number) => void) => ThreadSafeCallback)
    | undefined;
  /**
   * Makes the runtime's end of a kernel wake (`tofu_ring_start`), or is
   * undefined where the runtime or OS has none (then engines use a waiter
   * thread).
   */
  readonly wakeSocket: WakeSocketFactory | undefined;
  /** Keeps the process alive (true) or lets it exit (false) while waiters run. */
  keepAlive(on: boolean): void;
  /** Frees the library and any helper thread; called once, with no park pending. */
  close(): void;
}

/** `tofu_waiter_start`'s callback events (native/tofu.h). */
const WAITER_READY = 1;
const WAITER_STOPPED = 2;
/** After its last callback a waiter thread needs a moment to return out of it. */
const WAITER_EXIT_CHECK_MS = 1;

/** One started waiter: who to tell, and who waits for its end. */
interface WaiterEntry {
  /** The waiter's number (`tofu_waiter_gone`). */
  id: number;
  onReady: () => void;
  stopped: Promise<void>;
  markStopped: () => void;
}

/** A started kernel wake: the library's socket and the runtime's end. */
interface KernelWake {
  notify: number;
  socket: WakeSocket;
  /** Set by `pollerDestroy`: resolves once the runtime's end is closed. */
  closed?: Promise<void>;
}

/** Capacity of the buffer `udsPath` reads into: larger than any OS's `sun_path`. */
const UDS_PATH_CAPACITY = 256;
/** `tofu_source_hash` writes this many hex digits. */
const SOURCE_HASH_LENGTH = 64;
/** `tofu_mask_bits` writes this many int32. */
const MASK_BITS_LENGTH = 8;
/** Room for the longest OS error name (`ERROR_FILENAME_EXCED_RANGE`). */
const OS_ERROR_NAME_CAPACITY = 32;

/**
 * True when `[off, off + len)` is a valid int32 range inside `buf`; the C side
 * cannot see the array's length, so this check is what keeps it in bounds.
 */
function inBounds(buf: Uint8Array, off: number, len: number): boolean {
  return (off | 0) === off && (len | 0) === len && off >= 0 && len >= 0 &&
    len <= buf.length - off;
}

/**
 * `Native` over an opened library. Shared by every engine of the process: the
 * loader counts users with `retain()`, and the library is closed when the last
 * user has called `unload()` and no park is pending any more.
 */
export class NativeBinding implements Native {
  /** Where the library was loaded from (file path). */
  readonly path: string;
  #s: NativeSymbols;
  #lib: OpenedLibrary;
  #onRelease: () => void;
  #users = 1;
  #pendingParks = 0;
  #closed = false;
  /** One callback serves every waiter of this library; made with the first one. */
  #callback: ThreadSafeCallback | null = null;
  readonly #waiters = new Map<number, WaiterEntry>();
  /** Waiters stopped whose threads may still be returning from their last callback. */
  #exitingWaiters = 0;
  readonly #kernelWakes = new Map<number, KernelWake>();
  /** False once the OS refused a kernel wake: later engines do not try again. */
  #kernelWakeWorks = true;
  #onWaiterEvent = (poller: number, event: number): void => {
    const entry = this.#waiters.get(poller);
    if (entry === undefined) return;
    if (event === WAITER_READY) {
      entry.onReady();
      return;
    }
    if (event !== WAITER_STOPPED) return;
    this.#waiters.delete(poller);
    this.#exitingWaiters++;
    if (this.#waiters.size === 0) this.#lib.keepAlive(false);
    this.#whenThreadGone(entry);
  };
  #parkDone = (result: number): number => {
    this.#pendingParks--;
    this.#closeWhenIdle();
    return result;
  };
  #parkFailed = (error: unknown): never => {
    this.#pendingParks--;
    this.#closeWhenIdle();
    throw error;
  };

  /**
   * Wraps an opened library. `onRelease` runs when the last user unloads, so
   * the loader can forget it before it actually closes.
   */
  constructor(path: string, lib: OpenedLibrary, onRelease: () => void) {
    this.path = path;
    this.#s = lib.symbols;
    this.#lib = lib;
    this.#onRelease = onRelease;
  }

  /** Counts one more user; each must call `unload()` once. */
  retain(): void {
    this.#users++;
  }

  /** The library's `TOFU_ABI_VERSION`. */
  abiVersion(): number {
    return this.#s.tofu_abi_version();
  }

  /** Hex SHA-256 of the native sources the library was built from. */
  sourceHash(): string {
    const out = new Uint8Array(SOURCE_HASH_LENGTH);
    const n = this.#s.tofu_source_hash(out, out.length);
    if (n !== SOURCE_HASH_LENGTH) {
      throw new Error(`The native source hash could not be read: tofu_source_hash returned ${n}`);
    }
    return new TextDecoder().decode(out);
  }

  /** Bit mask of compiled-in backends (`1 << BackendId.x`). */
  backends(): number {
    return this.#s.tofu_backends();
  }

  /** The backend used for `BackendId.default` on this OS. */
  defaultBackend(): number {
    return this.#s.tofu_default_backend();
  }

  /** OS error number of the last failing call on this thread. */
  lastOsError(): number {
    return this.#s.tofu_last_os_error();
  }

  /** The OS's own name of an OS error number, or "" if the library has none for it. */
  osErrorName(osError: number): string {
    const out = new Uint8Array(OS_ERROR_NAME_CAPACITY);
    const n = this.#s.tofu_os_error_name(osError | 0, out, out.length);
    return n > 0 ? String.fromCharCode(...out.subarray(0, n)) : "";
  }

  /** Live native handles (sockets and pollers). */
  handleCount(): number {
    return this.#s.tofu_handle_count();
  }

  /** Creates a poller; returns its handle or a negative code. */
  pollerCreate(backend: number): number {
    return this.#s.tofu_poller_create(backend);
  }

  /** The backend a poller really uses. */
  pollerBackend(poller: number): number {
    return this.#s.tofu_poller_backend(poller);
  }

  /** Wakes any park or wait of the poller, then frees it (and its kernel wake). */
  pollerDestroy(poller: number): number {
    const code = this.#s.tofu_poller_destroy(poller);
    const wake = this.#kernelWakes.get(poller);
    if (wake !== undefined && wake.closed === undefined) {
      this.#s.tofu_close(wake.notify, 1);
      wake.closed = wake.socket.close().finally(() => this.#kernelWakes.delete(poller));
    }
    return code;
  }

  /** Watches `sock` for `interest`, tagging its events with `token`. */
  pollerRegister(poller: number, sock: number, token: number, interest: number): number {
    return this.#s.tofu_poller_register(poller, sock, token, interest);
  }

  /** Changes the token or interest of a watched socket. */
  pollerModify(poller: number, sock: number, token: number, interest: number): number {
    return this.#s.tofu_poller_modify(poller, sock, token, interest);
  }

  /** Stops watching `sock`. */
  pollerUnregister(poller: number, sock: number): number {
    return this.#s.tofu_poller_unregister(poller, sock);
  }

  /** Waits up to `timeoutMs` and writes (token, raw mask) pairs into `events`. */
  pollerWait(poller: number, events: Int32Array, timeoutMs: number): number {
    return this.#s.tofu_poller_wait(poller, events, events.length >>> 1, timeoutMs);
  }

  /** Waits up to `timeoutUs` microseconds and writes (token, raw mask) pairs into `events`. */
  pollerWaitUs(poller: number, events: Int32Array, timeoutUs: number): number {
    return this.#s.tofu_poller_wait_us(poller, events, events.length >>> 1, timeoutUs);
  }

  /** Blocks off the JS thread until something is ready, a wake, or the timeout. */
  pollerPark(poller: number, timeoutMs: number): Promise<number> {
    if (this.#closed) {
      return Promise.reject(new Error(`Cannot park poller ${poller}: the library is unloaded`));
    }
    this.#pendingParks++;
    return this.#lib.park(poller, timeoutMs).then(this.#parkDone, this.#parkFailed);
  }

  /**
   * Starts the poller's waiter thread: after each `waiterArm` it waits for
   * readiness off the JS thread and then runs `onReady` on the JS thread.
   * Returns 0 or a negative code.
   */
  waiterStart(poller: number, onReady: () => void): number {
    const make = this.#lib.threadSafeCallback;
    if (this.#closed || make === undefined) return NativeError.inval;
    this.#callback ??= make(this.#onWaiterEvent);
    let markStopped = () => {};
    const stopped = new Promise<void>((resolve) => markStopped = resolve);
    const entry = { id: -1, onReady, stopped, markStopped };
    this.#waiters.set(poller, entry);
    const id = this.#s.tofu_waiter_start(poller, this.#callback.pointer);
    if (id < 0) {
      this.#waiters.delete(poller);
      return id;
    }
    entry.id = id;
    if (this.#waiters.size === 1) this.#lib.keepAlive(true);
    return 0;
  }

  /**
   * Starts the poller's kernel wake: after each `kernelWakeArm`, the kernel
   * itself tells the runtime's event loop when something is ready, and
   * `onReady` runs on the JS thread. Returns 0 or a negative code
   * (`NativeError.unsupported` where the OS, the runtime or the backend has
   * no such mechanism).
   */
  kernelWakeStart(poller: number, onReady: () => void): number {
    const open = this.#lib.wakeSocket;
    if (this.#closed || open === undefined || !this.#kernelWakeWorks) {
      return NativeError.unsupported;
    }
    const socket = open(onReady);
    if (socket === undefined) {
      this.#kernelWakeWorks = false;
      return NativeError.unsupported;
    }
    const name = new TextEncoder().encode(socket.name);
    const notify = this.#s.tofu_uds_connect(name, name.length);
    let code = notify;
    if (notify >= 0) {
      const sent = this.#s.tofu_send(notify, socket.token, 0, socket.token.length);
      code = sent === socket.token.length
        ? this.#s.tofu_ring_start(poller, notify)
        : NativeError.again;
    }
    if (code >= 0) {
      this.#kernelWakes.set(poller, { notify, socket });
      return 0;
    }
    if (notify >= 0) this.#s.tofu_close(notify, 1);
    socket.close();
    if (code === NativeError.unsupported) this.#kernelWakeWorks = false;
    return code;
  }

  /** Arms the kernel wake once: `onReady` runs after something is ready. */
  kernelWakeArm(poller: number): number {
    return this.#s.tofu_ring_arm(poller);
  }

  /** Lets the waiter wait once more; `onReady` runs when something is ready. */
  waiterArm(poller: number): number {
    return this.#s.tofu_waiter_arm(poller);
  }

  /**
   * Resolves once the waiter of `poller` (stopped by `pollerDestroy`) has
   * made its last call and its thread is gone; at once if it has none.
   */
  waiterStopped(poller: number): Promise<void> {
    const wake = this.#kernelWakes.get(poller);
    if (wake?.closed !== undefined) return wake.closed;
    return this.#waiters.get(poller)?.stopped ?? Promise.resolve();
  }

  /** Interrupts a park or wait of the poller (or the next one). */
  pollerWake(poller: number): number {
    return this.#s.tofu_poller_wake(poller);
  }

  /** The 8 raw-mask constants of a backend: [IN, OUT, ERR, HUP, NVAL, RDHUP, EOF, ERROR]. */
  maskBits(backend: number): Int32Array {
    const out = new Int32Array(MASK_BITS_LENGTH);
    const n = this.#s.tofu_mask_bits(backend, out, out.length);
    if (n !== MASK_BITS_LENGTH) {
      throw new Error(`The mask bits of backend ${backend} could not be read: code ${n}`);
    }
    return out;
  }

  /** Listens on a numeric IPv4/IPv6 address (empty = 0.0.0.0). */
  tcpListen(ip: Uint8Array, port: number, backlog: number): number {
    return this.#s.tofu_tcp_listen(ip, ip.length, port, backlog);
  }

  /** Starts a non-blocking connect to a numeric address. */
  tcpConnect(ip: Uint8Array, port: number): number {
    return this.#s.tofu_tcp_connect(ip, ip.length, port);
  }

  /** Listens on a Unix domain socket path (empty = a fresh temporary path). */
  udsListen(path: Uint8Array, backlog: number): number {
    return this.#s.tofu_uds_listen(path, path.length, backlog);
  }

  /** Starts a non-blocking connect to a Unix domain socket path. */
  udsConnect(path: Uint8Array): number {
    return this.#s.tofu_uds_connect(path, path.length);
  }

  /** A UDS listener's path as bytes, or a negative code. */
  udsPath(sock: number): Uint8Array | number {
    const out = new Uint8Array(UDS_PATH_CAPACITY);
    const n = this.#s.tofu_uds_path(sock, out, out.length);
    return n < 0 ? n : out.slice(0, n);
  }

  /** After writability: 0 connected, `again` in progress, else the failure. */
  connectCheck(sock: number): number {
    return this.#s.tofu_connect_check(sock);
  }

  /** Accepts pending connections into `out`; returns how many. */
  accept(listener: number, out: Int32Array): number {
    return this.#s.tofu_accept(listener, out, out.length);
  }

  /** Sends `buf[off, off + len)`; an out-of-range span gives `inval` without calling C. */
  send(sock: number, buf: Uint8Array, off: number, len: number): number {
    if (!inBounds(buf, off, len)) return NativeError.inval;
    return this.#s.tofu_send(sock, buf, off, len);
  }

  /** Gather send (see `Native.sendv`); every piece is checked against its buffer first. */
  sendv(sock: number, segs: Int32Array, count: number, slots: readonly Uint8Array[]): number {
    const n = slots.length;
    if (
      (count | 0) !== count || count < 0 || count > SENDV_MAX_SEGS || 3 * count > segs.length ||
      n === 0 || n > SENDV_SLOTS
    ) {
      return NativeError.inval;
    }
    for (let i = 0; i < 3 * count; i += 3) {
      const slot = segs[i]!;
      if (slot < 0 || slot >= n || !inBounds(slots[slot]!, segs[i + 1]!, segs[i + 2]!)) {
        return NativeError.inval;
      }
    }
    // Slots the caller did not fill repeat the first buffer (C never reads them).
    const s = slots;
    const f = s[0]!;
    return this.#s.tofu_sendv(
      sock,
      segs,
      count,
      f,
      s[1] ?? f,
      s[2] ?? f,
      s[3] ?? f,
      s[4] ?? f,
      s[5] ?? f,
      s[6] ?? f,
      s[7] ?? f,
      s[8] ?? f,
      s[9] ?? f,
      s[10] ?? f,
      s[11] ?? f,
      s[12] ?? f,
      s[13] ?? f,
      s[14] ?? f,
      s[15] ?? f,
    );
  }

  /** Receives into `buf[off, off + len)`; an out-of-range span gives `inval` without calling C. */
  recv(sock: number, buf: Uint8Array, off: number, len: number): number {
    if (!inBounds(buf, off, len)) return NativeError.inval;
    return this.#s.tofu_recv(sock, buf, off, len);
  }

  /** Shuts down a direction: 0 read, 1 write, 2 both. */
  shutdown(sock: number, how: number): number {
    return this.#s.tofu_shutdown(sock, how);
  }

  /** Closes a socket: abortive (RST) or orderly (FIN). */
  close(sock: number, abortive: boolean): number {
    return this.#s.tofu_close(sock, abortive ? 1 : 0);
  }

  /** Local port of a TCP socket. */
  localPort(sock: number): number {
    return this.#s.tofu_local_port(sock);
  }

  /** Drops one user; the last one closes the library as soon as no park is pending. */
  unload(): void {
    if (this.#users === 0) return;
    this.#users--;
    if (this.#users > 0) return;
    this.#onRelease();
    this.#closeWhenIdle();
  }

  /**
   * Marks the waiter stopped once its thread has returned from its last
   * callback (only then may the callback be freed). With Deno the thread waits
   * in that call until the JS thread has run it, so it is checked in a later
   * task, not now.
   */
  #whenThreadGone(entry: WaiterEntry): void {
    const check = () => {
      if (this.#s.tofu_waiter_gone(entry.id) === 0) {
        setTimeout(check, WAITER_EXIT_CHECK_MS);
        return;
      }
      this.#exitingWaiters--;
      entry.markStopped();
      this.#closeWhenIdle();
    };
    setTimeout(check, 0);
  }

  #closeWhenIdle(): void {
    if (this.#users > 0 || this.#pendingParks > 0 || this.#closed) return;
    if (this.#waiters.size > 0 || this.#exitingWaiters > 0) return;
    this.#closed = true;
    this.#callback?.close();
    this.#callback = null;
    this.#lib.close();
  }
}
