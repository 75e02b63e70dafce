// The engine's spin-then-park decision (src/spin_policy.ts): pure logic over the clock.
import { test } from "node:test";
import assert from "node:assert/strict";
import { FAST_SPIN_MS, SLICE_MICROS, SpinPolicy } from "../src/spin_policy.ts";

/** Busy-waits `ms` (the policy reads performance.now; sleeping would be far coarser). */
function pass(ms: number): void {
  const end = performance.now() + ms;
  while (performance.now() < end) { /* wait */ }
}

test("SpinPolicy with spinMicros 0 always parks and never waits on the JS thread", () => {
  const p = new SpinPolicy(0);
  assert.equal(p.keepWatching(true), false);
  assert.equal(p.sliceMicros(), 0);
});

test("SpinPolicy: after activity it polls first, then waits in bounded slices, then parks", () => {
  const p = new SpinPolicy(20_000); // 20 ms, long enough to observe each phase
  assert.equal(p.sliceMicros(), 0, "not spinning yet: no wait");
  assert.equal(p.keepWatching(true), true, "activity starts a spin");
  assert.equal(p.sliceMicros(), 0, "first part of the spin: poll without waiting");
  pass(FAST_SPIN_MS * 2);
  const slice = p.sliceMicros();
  assert.ok(slice > 0 && slice <= SLICE_MICROS, `slice ${slice} µs`);
  assert.equal(p.keepWatching(false), true, "still inside the spin window");
  pass(21);
  assert.equal(p.keepWatching(false), false, "the window passed without activity: park");
  assert.equal(p.sliceMicros(), 0, "parked: no wait on the JS thread");
  assert.equal(p.keepWatching(true), true, "new activity starts a new spin");
});

test("SpinPolicy stops waiting in slices once the OS shows millisecond-only waits", () => {
  const p = new SpinPolicy(20_000);
  p.keepWatching(true);
  pass(FAST_SPIN_MS * 2);
  p.emptySliceTook(0.1); // a microsecond wait that really took ~100 µs: fine
  assert.ok(p.sliceMicros() > 0);
  p.emptySliceTook(1.2); // one long slice may just be a busy CPU
  assert.ok(p.sliceMicros() > 0, "one long slice is not proof");
  for (let i = 0; i < 16; i++) p.emptySliceTook(1.2); // a run of them is
  assert.equal(p.sliceMicros(), 0, "from now on no slices");
  assert.equal(p.keepWatching(true), true, "activity still starts a spin...");
  pass(FAST_SPIN_MS * 2);
  assert.equal(p.keepWatching(false), false, "...but only the short polling part, then park");
});

test("SpinPolicy tries slices again later: a busy spell must not disable them for good", () => {
  const p = new SpinPolicy(20_000, 100); // first retry after 100 ms
  p.keepWatching(true);
  pass(FAST_SPIN_MS * 2);
  for (let i = 0; i < 16; i++) p.emptySliceTook(1.2);
  assert.equal(p.sliceMicros(), 0, "slices off");
  pass(105);
  p.keepWatching(true);
  pass(FAST_SPIN_MS * 2);
  assert.ok(p.sliceMicros() > 0, "after the retry delay, activity turns slices back on");
  for (let i = 0; i < 16; i++) p.emptySliceTook(1.2);
  assert.equal(p.sliceMicros(), 0, "off again");
  pass(105); // a margin of 95 ms against a descheduled test
  p.keepWatching(true);
  pass(FAST_SPIN_MS * 2);
  assert.equal(p.sliceMicros(), 0, "the second retry waits twice as long (200 ms)");
  pass(100);
  p.keepWatching(true);
  pass(FAST_SPIN_MS * 2);
  assert.ok(p.sliceMicros() > 0, "and then tries again");
});
