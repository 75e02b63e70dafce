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
  other: -99,
} as const;

/** Poller backend ids of the native library. */
export const BackendId = {
  default: 0,
  epoll: 1,
  kqueue: 2,
  poll: 3,
  wsapoll: 4,
} as const;

/** Interest bits for `pollerRegister` / `pollerModify`. */
export const Interest = { read: 1, write: 2 } as const;

/** The native library as seen from TypeScript. */
export interface Native {
  /** Where the library was loaded from (file path). */
  readonly path: string;

  abiVersion(): number;
  /** Hex SHA-256 of the native sources the library was built from. */
  sourceHash(): string;
  /** Bit mask of compiled-in backends (`1 << BackendId.x`). */
  backends(): number;
  defaultBackend(): number;
  lastOsError(): number;
  handleCount(): number;

  pollerCreate(backend: number): number;
  pollerBackend(poller: number): number;
  pollerDestroy(poller: number): number;
  pollerRegister(poller: number, sock: number, token: number, interest: number): number;
  pollerModify(poller: number, sock: number, token: number, interest: number): number;
  pollerUnregister(poller: number, sock: number): number;
  /** `events` receives (token, raw mask) pairs; capacity = events.length / 2. */
  pollerWait(poller: number, events: Int32Array, timeoutMs: number): number;
  /**
   * Blocks off the JS thread until the poller has something ready, is woken,
   * or the timeout passes; resolves 1 or 0. The JS event loop keeps running.
   * At most one park per poller may be pending.
   */
  pollerPark(poller: number, timeoutMs: number): Promise<number>;
  pollerWake(poller: number): number;
  /** The 8 raw-mask constants of a backend: [IN, OUT, ERR, HUP, NVAL, RDHUP, EOF, ERROR]. */
  maskBits(backend: number): Int32Array;

  tcpListen(ip: Uint8Array, port: number, backlog: number): number;
  tcpConnect(ip: Uint8Array, port: number): number;
  udsListen(path: Uint8Array, backlog: number): number;
  udsConnect(path: Uint8Array): number;
  /** A UDS listener's path as bytes. */
  udsPath(sock: number): Uint8Array | number;
  connectCheck(sock: number): number;
  /** Accepted handles go into `out`; returns how many. */
  accept(listener: number, out: Int32Array): number;
  send(sock: number, buf: Uint8Array, off: number, len: number): number;
  recv(sock: number, buf: Uint8Array, off: number, len: number): number;
  shutdown(sock: number, how: number): number;
  close(sock: number, abortive: boolean): number;
  localPort(sock: number): number;

  /**
   * Releases the library once every poller is destroyed and no park is pending.
   * The instance is shared per process: call `unload()` once per `loadNative()`;
   * the library closes after the last call, as soon as no park is pending, and
   * must not be called after that.
   */
  unload(): void;
}
