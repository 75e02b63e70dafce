/**
 * The one interface between the runtime-neutral engine (`src/`) and the native
 * library. The Deno adapter (`Deno.dlopen`) and the Bun adapter (`bun:ffi`)
 * both implement it; `src/` sees nothing else of `ffi/`.
 *
 * Every method mirrors a function of `native/tofu.h` one to one: numbers are
 * int32, results are `>= 0` on success and a negative `NativeError` code on
 * failure. Only `park` is asynchronous.
 *
 * @module
 */

/** Negative result codes of the native library (see `native/tofu.h`). */
export const NativeError = {
  again: -1,
  badHandle: -2,
  inval: -3,
  badAddr: -4,
  nameTooLong: -5,
  noMem: -6,
  mfile: -7,
  addrInUse: -8,
  addrNotAvail: -9,
  acces: -10,
  noEnt: -11,
  notSock: -12,
  connRefused: -13,
  connReset: -14,
  pipe: -15,
  timedOut: -16,
  unreach: -17,
  afNoSupport: -18,
  noBackend: -19,
  notConn: -20,
  unsupported: -21,
  other: -99,
} as const;

/** Names of the poller backends, as users choose them (`Options.backend`, `TOFU_BACKEND`). */
export type BackendName = "epoll" | "kqueue" | "poll" | "wsapoll" | "afd";

/** Poller backend ids of the native library (`TOFU_BACKEND_*`), by name. */
export const BackendId = {
  default: 0,
  epoll: 1,
  kqueue: 2,
  poll: 3,
  wsapoll: 4,
  afd: 5,
} as const satisfies Record<BackendName | "default", number>;

/** The name of backend `id`, or undefined for an id that names no backend. */
export function backendName(id: number): BackendName | undefined {
  for (const [name, value] of Object.entries(BackendId)) {
    if (value === id && name !== "default") return name as BackendName;
  }
  return undefined;
}

/** The id of the backend called `name`, or undefined for a name that is not a backend. */
export function backendIdOf(name: string): number | undefined {
  return name !== "default" && Object.hasOwn(BackendId, name)
    ? BackendId[name as BackendName]
    : undefined;
}

/** Interest bits for `pollerRegister` / `pollerModify`. */
export const Interest = { read: 1, write: 2 } as const;

/** The native library as seen from TypeScript. */
export interface Native {
  /** Where the library was loaded from (file path). */
  readonly path: string;

  /** The library's `TOFU_ABI_VERSION`. */
  abiVersion(): number;
  /** Hex SHA-256 of the native sources the library was built from. */
  sourceHash(): string;
  /** Bit mask of compiled-in backends (`1 << BackendId.x`). */
  backends(): number;
  /** The backend used for `BackendId.default` on this OS. */
  defaultBackend(): number;
  /** OS error number of the last failing call on this thread (diagnostics only). */
  lastOsError(): number;
  /** The OS's own name of an OS error number (`ECONNREFUSED`, `WSAECONNREFUSED`), or "" if it has none. */
  osErrorName(osError: number): string;
  /** Live native handles, sockets and pollers (for leak tests). */
  handleCount(): number;

  /** Creates a poller of a `BackendId`; returns its handle. */
  pollerCreate(backend: number): number;
  /** The backend a poller really uses. */
  pollerBackend(poller: number): number;
  /** Wakes any park or wait of the poller, then frees it; its sockets stay open. */
  pollerDestroy(poller: number): number;
  /** Watches `sock` for `interest` (`Interest` bits; 0 = no events at all), tagged `token`. */
  pollerRegister(poller: number, sock: number, token: number, interest: number): number;
  /** Changes token or interest; on an unregistered socket it registers. */
  pollerModify(poller: number, sock: number, token: number, interest: number): number;
  /** Stops watching `sock`; not registered is not an error. */
  pollerUnregister(poller: number, sock: number): number;
  /** `events` receives (token, raw mask) pairs; capacity = events.length / 2. */
  pollerWait(poller: number, events: Int32Array, timeoutMs: number): number;
  /**
   * `pollerWait` with the timeout in microseconds (-1 = forever, 0 = peek): a
   * short blocking wait on the calling thread that returns as soon as a
   * socket is ready or the poller is woken. Precise below a millisecond on
   * epoll, Linux poll and kqueue; a wait under 1 ms is a peek on WSAPoll and
   * non-Linux poll, and lasts 1 ms on kernels without `epoll_pwait2`.
   */
  pollerWaitUs(poller: number, events: Int32Array, timeoutUs: number): number;
  /**
   * Blocks off the JS thread until the poller has something ready, is woken,
   * or the timeout passes; resolves 1 or 0. The JS event loop keeps running.
   * At most one park per poller may be pending.
   */
  pollerPark(poller: number, timeoutMs: number): Promise<number>;
  /**
   * Starts the poller's waiter: a native thread that, after each
   * `waiterArm`, waits for readiness (or a wake) off the JS thread and then
   * runs `onReady` on the JS thread, once. While a waiter runs, the process
   * stays alive. `pollerDestroy` stops it. Returns 0 or a negative code.
   */
  waiterStart(poller: number, onReady: () => void): number;
  /**
   * Starts the poller's kernel wake (Linux io_uring, epoll backend): after
   * each `kernelWakeArm`, the kernel itself tells the runtime's event loop
   * when something is ready, and `onReady` runs on the JS thread, once; no
   * thread of the library runs. `NativeError.unsupported` where there is no
   * such mechanism; `pollerDestroy` ends it.
   */
  kernelWakeStart(poller: number, onReady: () => void): number;
  /** Arms the kernel wake once (cheap, never blocks); arming twice changes nothing. */
  kernelWakeArm(poller: number): number;
  /** Lets the waiter wait once more (cheap, never blocks); arming twice changes nothing. */
  waiterArm(poller: number): number;
  /** Resolves once the waiter of a destroyed poller has stopped for good, or its kernel wake has let go of its socket (at once without either). */
  waiterStopped(poller: number): Promise<void>;
  /** Interrupts a park or wait of the poller (or the next one); wakes coalesce. */
  pollerWake(poller: number): number;
  /** The 8 raw-mask constants of a backend: [IN, OUT, ERR, HUP, NVAL, RDHUP, EOF, ERROR]. */
  maskBits(backend: number): Int32Array;

  /** TCP listener on a numeric IPv4/IPv6 address (empty = 0.0.0.0); port 0 = ephemeral. */
  tcpListen(ip: Uint8Array, port: number, backlog: number): number;
  /** Starts a non-blocking TCP connect to a numeric address. */
  tcpConnect(ip: Uint8Array, port: number): number;
  /** UDS listener (empty path = a fresh temporary one); never deletes what it does not own. */
  udsListen(path: Uint8Array, backlog: number): number;
  /** Starts a non-blocking UDS connect. */
  udsConnect(path: Uint8Array): number;
  /** A UDS listener's path as bytes. */
  udsPath(sock: number): Uint8Array | number;
  /** After writability: 0 connected, `NativeError.again` in progress, else the failure. */
  connectCheck(sock: number): number;
  /** Accepted handles go into `out`; returns how many. */
  accept(listener: number, out: Int32Array): number;
  /** Sends `buf[off, off + len)`; returns bytes sent (may be short); a span outside `buf` gives `inval`. */
  send(sock: number, buf: Uint8Array, off: number, len: number): number;
  /**
   * Gather send: `count` pieces, three int32 each in `segs` (slot, off, len):
   * `len` bytes of `slots[slot]` from `off`, written in order with one system
   * call. At most 16 slots and 64 pieces; a piece outside its buffer, or an
   * unknown slot, gives `inval` without calling C. Returns bytes sent (may be
   * short), `again`, or the failure, as `send`.
   */
  sendv(sock: number, segs: Int32Array, count: number, slots: readonly Uint8Array[]): number;
  /** Receives into `buf[off, off + len)`: bytes, 0 at EOF, `again`; a span outside `buf` gives `inval`. */
  recv(sock: number, buf: Uint8Array, off: number, len: number): number;
  /** Shuts down a direction: 0 read, 1 write, 2 both. */
  shutdown(sock: number, how: number): number;
  /** Unregisters and closes: abortive (RST) or orderly (FIN). */
  close(sock: number, abortive: boolean): number;
  /** Local port of a TCP socket. */
  localPort(sock: number): number;

  /**
   * Releases the library once every poller is destroyed and no park is pending.
   * The instance is shared per process: call `unload()` once per `loadNative()`;
   * the library closes after the last call, as soon as no park is pending, and
   * must not be called after that.
   */
  unload(): void;
}
