// The engine's spin-then-park decision (src/spin_policy.ts): pure logic over the clock.
import { test } from "node:test";
import assert from "node:assert/strict";
import { SLICE_MICROS, SpinPolicy } from "../src/spin_policy.ts";

/** Busy-waits `ms` (the policy reads performance.now; sleeping would be far coarser). */
function pass(ms: number): void {
  const end = performance.now() + ms;
  while (performance.now() < end) { /* wait */ }
}

/** Shows the policy `rounds` arrivals `gapMs` apart, each followed by a quiet turn. */
function teach(p: SpinPolicy, gapMs: number, rounds = 12): void {
  for (let i = 0; i < rounds; i++) {
    p.keepWatching(true);
    p.keepWatching(false);
    pass(gapMs);
  }
}

test("SpinPolicy with spinMicros 0 always parks and never waits on the JS thread", () => {
  const p = new SpinPolicy(0);
  assert.equal(p.keepWatching(true), false);
  assert.equal(p.sliceMicros(), 0);
});

test("SpinPolicy learns the usual gap between arrivals", () => {
  const p = new SpinPolicy(20_000);
  teach(p, 3);
  assert.ok(
    p.usualGapMicros > 2_000 && p.usualGapMicros < 20_000,
    `usual gap ${p.usualGapMicros} µs after 3 ms gaps`,
  );
  teach(p, 0, 30);
  assert.ok(p.usualGapMicros < 1_000, `it follows the traffic: ${p.usualGapMicros} µs`);
  const before = p.usualGapMicros;
  for (let i = 0; i < 10; i++) {
    p.keepWatching(true, false); // the app's own posts are no arrivals
    pass(3);
  }
  assert.equal(p.usualGapMicros, before, "posts alone teach nothing");
});

test("SpinPolicy: messages that follow closely are polled for first, then waited for in slices", () => {
  const p = new SpinPolicy(20_000);
  teach(p, 0, 40); // back-to-back arrivals
  assert.equal(p.keepWatching(true), true, "activity starts a spin");
  assert.equal(p.sliceMicros(), 0, "first part of the spin: poll without waiting");
});

test("SpinPolicy: after a longer usual gap it waits in bounded slices at once, then parks", () => {
  const p = new SpinPolicy(20_000); // 20 ms, long enough to observe each phase
  teach(p, 4); // window: about twice 4 ms
  assert.equal(p.keepWatching(true), true, "activity starts a spin");
  const slice = p.sliceMicros();
  assert.ok(slice > 0 && slice <= SLICE_MICROS, `no polling part, a slice at once: ${slice} µs`);
  assert.equal(p.keepWatching(false), true, "still inside the spin window");
  pass(21);
  assert.equal(p.keepWatching(false), false, "the window passed without activity: park");
  assert.equal(p.sliceMicros(), 0, "parked: no wait on the JS thread");
});

test("SpinPolicy parks at once when the usual gap is longer than spinMicros (a paced load)", () => {
  const p = new SpinPolicy(1_000);
  teach(p, 1.5); // a request every 1.5 ms: a 1 ms spin would never catch it
  assert.equal(p.keepWatching(true), false, "no spin at all: park right after the activity");
  assert.equal(p.sliceMicros(), 0);
  teach(p, 0.02, 30); // the traffic speeds up
  assert.equal(p.keepWatching(true), true, "close messages: spinning pays again");
});

test("SpinPolicy on a scanning backend (poll, WSAPoll) skips the polling part", () => {
  const p = new SpinPolicy(20_000, undefined, true);
  teach(p, 0, 40); // back-to-back arrivals
  assert.equal(p.keepWatching(true), true);
  assert.ok(p.sliceMicros() > 0, "a slice at once: one poll per slice, not many per wake-up");
});

test("SpinPolicy stops waiting in slices once the OS shows millisecond-only waits", () => {
  const p = new SpinPolicy(20_000);
  teach(p, 4);
  p.keepWatching(true);
  p.emptySliceTook(0.1); // a microsecond wait that really took ~100 µs: fine
  assert.ok(p.sliceMicros() > 0);
  p.emptySliceTook(1.2); // one long slice may just be a busy CPU
  assert.ok(p.sliceMicros() > 0, "one long slice is not proof");
  for (let i = 0; i < 16; i++) p.emptySliceTook(1.2); // a run of them is
  assert.equal(p.sliceMicros(), 0, "from now on no slices");
  assert.equal(p.keepWatching(true), false, "without slices a long gap is not watched: park");
});

test("SpinPolicy tries slices again later: a busy spell must not disable them for good", () => {
  const p = new SpinPolicy(20_000, 100); // first retry after 100 ms
  teach(p, 4);
  p.keepWatching(true);
  for (let i = 0; i < 16; i++) p.emptySliceTook(1.2);
  assert.equal(p.sliceMicros(), 0, "slices off");
  pass(105);
  p.keepWatching(true, false); // busy, but nothing arrived: the usual gap stays
  assert.ok(p.sliceMicros() > 0, "after the retry delay, activity turns slices back on");
  for (let i = 0; i < 16; i++) p.emptySliceTook(1.2);
  assert.equal(p.sliceMicros(), 0, "off again");
  pass(105); // a margin of 95 ms against a descheduled test
  p.keepWatching(true, false);
  assert.equal(p.sliceMicros(), 0, "the second retry waits twice as long (200 ms)");
  pass(100);
  p.keepWatching(true, false);
  assert.ok(p.sliceMicros() > 0, "and then tries again");
});

test("SpinPolicy: a client waiting for replies watches after each request, even far apart", () => {
  const p = new SpinPolicy(1_000);
  for (let i = 0; i < 12; i++) {
    p.keepWatching(true, false, true); // a request went out
    pass(0.05);
    p.keepWatching(true, true, false); // its reply, 50 µs later
    pass(1.5); // the next request comes 1.5 ms later
  }
  assert.ok(
    p.usualReplyMicros >= 50 && p.usualReplyMicros < 1_000,
    `usual reply ${p.usualReplyMicros} µs`,
  );
  assert.equal(p.keepWatching(true, false, true), true, "after a request: watch for its reply");
  pass(0.05);
  assert.equal(
    p.keepWatching(true, true, false),
    false,
    "the reply is here and the next request is far off: park",
  );
});

test("SpinPolicy with a cheap wake: never a slice, no watch for a lone reply, polls for back-to-back traffic", () => {
  const paced = new SpinPolicy(1000);
  paced.cheapWake();
  teach(paced, 2); // a request every 2 ms
  assert.equal(
    paced.keepWatching(true, true, true),
    false,
    "a reply at a paced load comes by a wake-up",
  );
  assert.equal(paced.sliceMicros(), 0, "no wait on the JS thread");
  const busy = new SpinPolicy(1000);
  busy.cheapWake();
  teach(busy, 0, 40); // back-to-back arrivals
  assert.equal(busy.keepWatching(true), true, "continuous traffic is polled for");
  assert.equal(busy.sliceMicros(), 0, "by polling, not by waiting in slices");
});
