// Channel number allocation (src/channel_numbers.ts, spec §6.1, [N3]): numbers in 1..65534, never
// one that is active, never one of the 1024 most recently released, and 0 once all are taken.

import { test } from "node:test";
import assert from "node:assert/strict";
import {
  ChannelNumbers,
  FIRST_CHANNEL,
  LAST_CHANNEL,
  QUARANTINE_SIZE,
} from "../src/channel_numbers.ts";

const USABLE = LAST_CHANNEL - FIRST_CHANNEL + 1;

test("every usable number is handed out once, then 0; 0 and 65535 never", () => {
  const numbers = new ChannelNumbers();
  const seen = new Set<number>();
  for (let i = 0; i < USABLE; i++) {
    const n = numbers.allocate();
    assert.ok(n >= FIRST_CHANNEL && n <= LAST_CHANNEL, `${n} is out of range`);
    assert.ok(!seen.has(n), `${n} was handed out twice`);
    assert.ok(numbers.isActive(n));
    seen.add(n);
  }
  assert.equal(numbers.active, USABLE);
  assert.equal(numbers.allocate(), 0, "all taken");
  assert.equal(numbers.active, USABLE);
});

test("a released number stays out of use until 1024 later releases", () => {
  const numbers = new ChannelNumbers();
  const all: number[] = [];
  for (let i = 0; i < USABLE; i++) all.push(numbers.allocate());
  const first = all[0]!;
  numbers.release(first);
  assert.equal(numbers.isActive(first), false);
  assert.equal(numbers.active, USABLE - 1);
  assert.equal(numbers.allocate(), 0, "the only free number is quarantined");
  // 1023 more releases: `first` is still among the 1024 most recent.
  for (let i = 1; i < QUARANTINE_SIZE; i++) numbers.release(all[i]!);
  assert.equal(numbers.allocate(), 0);
  // One more release pushes `first` out of the quarantine: it is the one number free.
  numbers.release(all[QUARANTINE_SIZE]!);
  assert.equal(numbers.allocate(), first);
  assert.equal(numbers.allocate(), 0);
});

test("releasing a number that is not active changes nothing", () => {
  const numbers = new ChannelNumbers();
  const n = numbers.allocate();
  numbers.release(n === LAST_CHANNEL ? FIRST_CHANNEL : n + 1);
  numbers.release(0);
  assert.equal(numbers.active, 1);
  numbers.release(n);
  numbers.release(n); // twice
  assert.equal(numbers.active, 0);
  assert.equal(numbers.isActive(n), false);
});

test("numbers are spread over the whole range, not sequential", () => {
  const numbers = new ChannelNumbers();
  const got = Array.from({ length: 200 }, () => numbers.allocate());
  const sequential = got.every((n, i) => i === 0 || n === got[i - 1]! + 1);
  assert.equal(sequential, false);
  // 200 uniform draws from 65534 all below 16384 has probability 4^-200.
  assert.ok(got.some((n) => n > 16384) && got.some((n) => n < 49152), got.join(" "));
});
