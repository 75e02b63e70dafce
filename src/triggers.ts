/**
 * Triggers: what a channel waits for (interest) and what happened to it
 * (activity), as one bit set (spec §13.2). The reactor speaks only Triggers;
 * the translation from raw OS readiness masks lives here, one function per
 * backend family, so backends can be swapped without touching the reactor.
 *
 * @module
 */

import { Interest } from "./native_port.ts";

/**
 * Trigger bits (spec §13.2). This engine sets only `accept`, `connect`,
 * `send` and `recv` as interest and reports `err` besides; `notify`, `pool`
 * and `timeout` are never set (wake-ups come through the waiter, pool
 * shortage and timeouts are tracked by the engine itself) and are listed
 * only so that every bit keeps the spec's value.
 */
export const Trigger = {
  notify: 1 << 0,
  accept: 1 << 1,
  connect: 1 << 2,
  send: 1 << 3,
  recv: 1 << 4,
  pool: 1 << 5,
  err: 1 << 6,
  timeout: 1 << 7,
} as const;

/** The OS interest that a channel's expected triggers need. */
export function osInterestOf(expected: number): number {
  let os = 0;
  if (expected & (Trigger.recv | Trigger.accept)) os |= Interest.read;
  if (expected & (Trigger.send | Trigger.connect)) os |= Interest.write;
  return os;
}

/** Translates one raw OS mask, given the channel's expected triggers, into activity. */
export type MaskTranslator = (rawMask: number, expected: number) => number;

/** Backend families whose raw masks share one meaning. */
export type BackendFamily = "epoll" | "poll" | "kqueue";

/**
 * The raw-mask constants of a backend, as the native library describes them:
 * [IN, OUT, ERR, HUP, NVAL, RDHUP, EOF, ERROR].
 */
export type MaskBits = ArrayLike<number>;

function readableActivity(expected: number): number {
  if (expected & Trigger.recv) return Trigger.recv;
  if (expected & Trigger.accept) return Trigger.accept;
  return 0;
}

function writableActivity(expected: number): number {
  if (expected & Trigger.send) return Trigger.send;
  if (expected & Trigger.connect) return Trigger.connect;
  return 0;
}

/**
 * Level-triggered masks of epoll, poll and WSAPoll. A hang-up that comes with
 * readable data is reported as readable first, so the receiver drains what the
 * peer sent before it sees the end of the stream ([N5]); the error bit is kept
 * so the reactor still knows the connection is gone.
 */
function pollLikeTranslator(bits: MaskBits): MaskTranslator {
  const IN = bits[0] ?? 0;
  const OUT = bits[1] ?? 0;
  const failure = (bits[2] ?? 0) | (bits[3] ?? 0) | (bits[4] ?? 0);
  return (raw, expected) => {
    let act = 0;
    if (raw & IN) act |= readableActivity(expected);
    if (raw & OUT) act |= writableActivity(expected);
    if (raw & failure) act |= Trigger.err;
    return act;
  };
}

/**
 * kqueue reports one event per filter: the mask is (-filter) | (flags << 16).
 * EV_EOF on the read filter still means "read": the read sees the end of the
 * stream. EV_EOF on the write filter and EV_ERROR mean failure.
 */
function kqueueTranslator(bits: MaskBits): MaskTranslator {
  const READ = bits[0] ?? 1;
  const WRITE = bits[1] ?? 2;
  const EOF = bits[6] ?? 0;
  const ERROR = bits[7] ?? 0;
  return (raw, expected) => {
    let act = 0;
    const filter = raw & 0xffff;
    if (raw & ERROR) return Trigger.err;
    if (filter === READ) {
      act |= readableActivity(expected);
      if (raw & EOF && (expected & Trigger.recv) === 0) act |= Trigger.err;
    } else if (filter === WRITE) {
      act |= (raw & EOF) ? Trigger.err : writableActivity(expected);
    }
    return act;
  };
}

/** The translator for a backend family, built from the backend's own constants. */
export function maskTranslator(family: BackendFamily, bits: MaskBits): MaskTranslator {
  return family === "kqueue" ? kqueueTranslator(bits) : pollLikeTranslator(bits);
}
