/**
 * When the engine keeps watching its sockets on the JS thread and when it
 * parks. Parking waits off the JS thread and costs a cross-thread wake
 * (25–80 µs) when something arrives, so after activity the engine first polls
 * without waiting (an answer is seen at once), then waits in short kernel
 * slices (the thread sleeps and leaves the CPU to the peer, yet wakes within
 * ~15 µs of readiness), and parks only after `spinMicros` without activity.
 * Between polls and slices the event loop runs; a slice holds it at most
 * about twice `SLICE_MICROS` (kernel timer slack).
 *
 * A spin pays only when the next message comes within it. The policy
 * therefore learns the usual gap between arrivals (an average that follows the
 * traffic within a few messages) and watches only about twice that gap: at a paced load whose gaps are longer than `spinMicros` (a
 * request every millisecond) it parks at once, and spins only where messages
 * follow each other closely (10 000/s, saturated ping-pong, streaming). The
 * first, polling part is used only when messages come within it; otherwise
 * the engine sleeps in slices, which cost almost no CPU. Likewise it learns
 * how soon something arrives after the engine sent (the answer to a request):
 * a client that waits for replies keeps watching for them after each request
 * even when its requests are far apart.
 *
 * Where the kernel wakes the runtime's event loop itself (`cheapWake`, Linux),
 * a park costs what the runtime's own sockets pay per wake-up, so the policy
 * keeps only the polling part, and only while traffic keeps coming: no slice
 * ever holds the event loop, and a lone request's reply comes by a wake-up
 * that costs no CPU meanwhile.
 *
 * @module
 */

/** Longest wait on the JS thread per turn while spinning (µs). */
export const SLICE_MICROS = 50;
/** After activity, poll without waiting this long (ms): most answers come within it. */
export const FAST_SPIN_MS = 0.04;
/** An empty slice that took this long (ms) suggests that the OS waits in whole milliseconds... */
const SLICE_TOO_LONG_MS = 0.8;
/** ...and this many in a row show it (a single long one may just be a busy CPU). */
const TOO_LONG_IN_A_ROW = 16;
/**
 * A long run of busy CPU looks the same, so slices are tried again after this
 * long (ms), twice as long after each new verdict, up to `SLICE_RETRY_MAX_MS`:
 * a loaded host recovers within a minute, and an OS that truly waits in whole
 * milliseconds pays about 16 ms of held event loop a minute.
 */
export const SLICE_RETRY_MS = 5_000;
const SLICE_RETRY_MAX_MS = 60_000;
/** The window watched after activity is this many times the usual gap... */
const GAP_MARGIN = 2;
/** ...but at least this long (ms), for bursty traffic whose gaps vary. */
const MIN_WINDOW_MS = 0.05;
/**
 * The polling part is used when arrivals usually come within this (ms): a
 * poll notices one at once, a slice often tens of µs late.
 */
const FAST_GAP_MS = 0.1;
/** With the kernel wake, the polling part is used only while arrivals usually come this close (ms). */
const CONTINUOUS_GAP_MS = 0.2;
/** A reply is watched for at least twice this long (ms): replies vary more than steady traffic. */
const REPLY_FLOOR_MS = 0.1;
/** Each new gap moves the usual gap by this fraction of the difference. */
const GAP_WEIGHT = 0.25;
/**
 * The shortest usual gap follows a shorter gap by this fraction and a longer
 * one by the second: it tracks how soon things come when the engine is quick,
 * not the longer gaps its own slower wake-ups cause (see `#quickGapMs`).
 */
const QUICK_DOWN = 0.5;
const QUICK_UP = 0.02;

/** The spin-then-park decision of one engine. */
export class SpinPolicy {
  readonly #spinMs: number;
  /** Until then (ms, performance.now) the engine keeps watching instead of parking. */
  #spinUntil = 0;
  /** Until then it polls without waiting; after it, it waits in slices. */
  #fastUntil = 0;
  #spinning = false;
  /**
   * False once slices showed that this OS cannot wait in microseconds: then
   * the spin is only the short polling part, never a long busy poll that
   * would take the CPU from the peer.
   */
  #slicesWork = true;
  #tooLong = 0;
  /** While slices are off: when to try them again (ms, performance.now). */
  #slicesBackAt = 0;
  #retryMs: number;
  /** Skip the polling part: each poll scans every socket (poll, WSAPoll). */
  readonly #pollsScan: boolean;
  /**
   * The engine is woken by the kernel itself (see `cheapWake`): a slice
   * would cost what a park costs, and hold the event loop meanwhile.
   */
  #cheapWake = false;
  /** The usual gap (ms) between turns that found something arrived. */
  #usualGapMs = 0;
  /**
   * The low envelope of the gaps (and of the reply times): it decides the
   * polling part. A slice notices an arrival later than a poll does, which
   * lengthens the gaps it sees; judged by the plain average, a saturated
   * ping-pong would talk itself out of polling for good.
   */
  #quickGapMs = 0;
  #quickReplyMs = Infinity;
  /** When something last arrived (ms; 0 = never). */
  #lastArrivalAt = 0;
  /** The usual time (ms) from a turn that sent to the next arrival (a reply). */
  #usualReplyMs = Infinity;
  /** When the engine last sent, while no arrival has come since (ms; 0 = none pending). */
  #sentAt = 0;

  /**
   * `spinMicros` = the longest watch after activity; 0 = always park at once.
   * `retryMs` = the first wait before slices are tried again. `pollsScan`:
   * the backend scans every socket per poll, so the polling part is skipped.
   */
  constructor(spinMicros: number, retryMs = SLICE_RETRY_MS, pollsScan = false) {
    this.#spinMs = spinMicros / 1000;
    this.#retryMs = retryMs;
    this.#pollsScan = pollsScan;
  }

  /**
   * Tells the policy that a park now costs no more than the runtime's own
   * sockets pay for a wake-up (the kernel wake): from then on it never waits
   * in slices (a park costs the same and leaves the event loop free), and
   * polls only while arrivals come within `CONTINUOUS_GAP_MS` of each other.
   */
  cheapWake(): void {
    this.#cheapWake = true;
    this.#slicesWork = false;
    this.#slicesBackAt = Infinity;
  }

  /** The usual gap between arrivals (µs), as learned so far. */
  get usualGapMicros(): number {
    return this.#usualGapMs * 1000;
  }

  /** The usual time from sending to the next arrival (µs; Infinity until learned). */
  get usualReplyMicros(): number {
    return this.#usualReplyMs * 1000;
  }

  /**
   * How long the next poll may wait (µs) when the turn has nothing else to do:
   * 0 outside a spin and in its first, polling part.
   */
  sliceMicros(): number {
    if (!this.#spinning || !this.#slicesWork) return 0;
    const now = performance.now();
    if (now < this.#fastUntil) return 0;
    const left = (this.#spinUntil - now) * 1000;
    return left <= 0 ? 0 : Math.min(SLICE_MICROS, Math.ceil(left));
  }

  /**
   * Where the OS cannot wait in microseconds (no epoll_pwait2, WSAPoll...) an
   * empty slice lasts a millisecond or more: after a run of those, spin only
   * briefly and then park, not to hold the event loop that long.
   */
  emptySliceTook(ms: number): void {
    this.#tooLong = ms > SLICE_TOO_LONG_MS ? this.#tooLong + 1 : 0;
    if (this.#tooLong >= TOO_LONG_IN_A_ROW && this.#slicesWork) {
      this.#slicesWork = false;
      this.#slicesBackAt = performance.now() + this.#retryMs;
      this.#retryMs = Math.min(this.#retryMs * 2, SLICE_RETRY_MAX_MS);
    }
  }

  /**
   * After a turn with nothing left to do: true = turn again soon (spin),
   * false = park. `busy`: the turn did something; `arrived`: the OS reported
   * activity (the arrivals whose gaps decide how long a spin pays); `sent`:
   * the turn sent the app's messages (a reply may follow).
   */
  keepWatching(busy: boolean, arrived = busy, sent = false): boolean {
    if (this.#spinMs === 0) return false;
    const now = performance.now();
    if (arrived) this.#learnGap(now);
    if (sent) this.#sentAt = now;
    if (busy) {
      if (!this.#slicesWork && now >= this.#slicesBackAt) {
        this.#slicesWork = true;
        this.#tooLong = 0;
      }
      const replying = this.#sentAt > 0
        ? this.#worthWatching(Math.max(this.#usualReplyMs, REPLY_FLOOR_MS))
        : 0;
      const window = Math.max(this.#worthWatching(this.#usualGapMs), replying);
      // With the kernel wake, polling pays only while traffic keeps coming
      // (a saturated ping-pong, a stream): a lone reply to a request made
      // now and then comes as fast through a wake-up, which costs no CPU.
      const continuous = !this.#cheapWake || this.#usualGapMs <= CONTINUOUS_GAP_MS;
      const soonest = continuous
        ? Math.min(this.#quickGapMs, this.#sentAt > 0 ? this.#quickReplyMs : Infinity)
        : Infinity;
      const fast = this.#pollsScan || soonest > FAST_GAP_MS ? 0 : FAST_SPIN_MS;
      this.#fastUntil = now + Math.min(window, fast);
      this.#spinUntil = this.#slicesWork ? now + window : this.#fastUntil;
    }
    this.#spinning = now < this.#spinUntil;
    return this.#spinning;
  }

  /** How long to watch for something usually `gapMs` away: about twice that, 0 when too long. */
  #worthWatching(gapMs: number): number {
    const wanted = Math.max(MIN_WINDOW_MS, GAP_MARGIN * gapMs);
    return wanted > this.#spinMs ? 0 : wanted;
  }

  /** An arrival ends a gap (and answers a send): it moves the usual gaps towards it. */
  #learnGap(now: number): void {
    if (this.#lastArrivalAt > 0) {
      const gap = now - this.#lastArrivalAt;
      this.#usualGapMs += (gap - this.#usualGapMs) * GAP_WEIGHT;
      this.#quickGapMs = towardsLow(this.#quickGapMs, gap);
    }
    this.#lastArrivalAt = now;
    if (this.#sentAt === 0) return;
    const reply = now - this.#sentAt;
    this.#usualReplyMs = this.#usualReplyMs === Infinity
      ? reply
      : this.#usualReplyMs + (reply - this.#usualReplyMs) * GAP_WEIGHT;
    this.#quickReplyMs = this.#quickReplyMs === Infinity
      ? reply
      : towardsLow(this.#quickReplyMs, reply);
    this.#sentAt = 0;
  }
}

/** Moves a low envelope towards `sample`: quickly down, slowly up. */
function towardsLow(envelope: number, sample: number): number {
  return envelope + (sample - envelope) * (sample < envelope ? QUICK_DOWN : QUICK_UP);
}
