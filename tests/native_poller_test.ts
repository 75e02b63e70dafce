// The poller contract (scenario S-113) for every backend compiled into the
// native library that runs on this OS, plus the microsecond wait, the park
// (the wait that runs off the JS thread) and its lifecycle. Real sockets, the
// real library.

import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import process from "node:process";
import { pathToFileURL } from "node:url";
import { BackendId, Interest, NativeError } from "../ffi/mod.ts";
import { enc, leakFree, LOOPBACK, native, Scope } from "./_support/native.ts";
import { sleep, until } from "./_support/wait.ts";

/** Far longer than anything here takes; a wait that hits it means "nothing happened". */
const LONG_MS = 10_000;

const BACKEND_NAMES = ["default", "epoll", "kqueue", "poll", "wsapoll", "afd"] as const;

/** A connected TCP pair on loopback: `client` connected to `server` (accepted). */
async function tcpPair(scope: Scope): Promise<{ client: number; server: number }> {
  const listener = scope.socket(native.tcpListen(LOOPBACK, 0, 16), "tcpListen");
  const client = scope.socket(native.tcpConnect(LOOPBACK, native.localPort(listener)));
  const out = new Int32Array(1);
  const server = scope.socket(
    await until("accept", () => native.accept(listener, out) === 1 ? out[0] : undefined),
  );
  await until("connect", () => native.connectCheck(client) === 0 ? true : undefined);
  native.close(listener, true);
  scope.forget(listener);
  return { client, server };
}

/** Sends all of `data` (small enough never to block). */
function sendAll(sock: number, data: Uint8Array): void {
  assert.equal(native.send(sock, data, 0, data.length), data.length);
}

/** One backend's view of raw masks. */
class Masks {
  readonly #bits: Int32Array;
  constructor(backend: number) {
    this.#bits = native.maskBits(backend);
  }
  readable(mask: number): boolean {
    return (mask & this.#bits[0]!) !== 0;
  }
  writable(mask: number): boolean {
    return (mask & this.#bits[1]!) !== 0;
  }
}

/** Waits once and merges the raw masks per token. */
function waitEvents(poller: number, timeoutMs: number): Map<number, number> {
  const events = new Int32Array(128);
  const n = native.pollerWait(poller, events, timeoutMs);
  assert.ok(n >= 0, `pollerWait failed with code ${n}`);
  const byToken = new Map<number, number>();
  for (let i = 0; i < n; i++) {
    const token = events[2 * i]!;
    byToken.set(token, (byToken.get(token) ?? 0) | events[2 * i + 1]!);
  }
  return byToken;
}

/** Waits until `done` holds for the events seen so far; returns them. */
async function eventsUntil(
  poller: number,
  what: string,
  done: (seen: Map<number, number>) => boolean,
): Promise<Map<number, number>> {
  const seen = new Map<number, number>();
  return await until(what, () => {
    for (const [token, mask] of waitEvents(poller, 10)) {
      seen.set(token, (seen.get(token) ?? 0) | mask);
    }
    return done(seen) ? seen : undefined;
  });
}

/** A generous bound for "returns at once": these tests pin behaviour, not speed. */
const AT_ONCE_MS = 50;
/** A wait_us timeout far longer than anything here takes (5 s). */
const LONG_US = 5_000_000;

/** One `pollerWaitUs`: its event count, masks per token, and how long it took (ms). */
function timedWaitUs(
  poller: number,
  timeoutUs: number,
): { count: number; masks: Map<number, number>; ms: number } {
  const events = new Int32Array(128);
  const start = performance.now();
  const count = native.pollerWaitUs(poller, events, timeoutUs);
  const ms = performance.now() - start;
  assert.ok(count >= 0, `pollerWaitUs failed with code ${count}`);
  const masks = new Map<number, number>();
  for (let i = 0; i < count; i++) {
    const token = events[2 * i]!;
    masks.set(token, (masks.get(token) ?? 0) | events[2 * i + 1]!);
  }
  return { count, masks, ms };
}

/** Whether a backend sleeps less than 1 ms (`tofu.h`: WSAPoll and non-Linux poll peek instead). */
function subMillisecondWaits(id: number): boolean {
  if (id === BackendId.epoll || id === BackendId.kqueue) return true;
  return id === BackendId.poll && process.platform === "linux";
}

interface Backend {
  id: number;
  name: string;
  skip: string | false;
}

/** Backends compiled in, each with why it is skipped when it cannot run here. */
function runnableBackends(): Backend[] {
  const compiled = native.backends();
  const result: Backend[] = [];
  for (
    const id of [
      BackendId.epoll,
      BackendId.kqueue,
      BackendId.poll,
      BackendId.wsapoll,
      BackendId.afd,
    ]
  ) {
    if ((compiled & (1 << id)) === 0) continue;
    const poller = native.pollerCreate(id);
    if (poller >= 0) native.pollerDestroy(poller);
    const skip = poller >= 0 ? false : `pollerCreate(${id}) gives code ${poller} on this OS`;
    result.push({ id, name: BACKEND_NAMES[id], skip });
  }
  return result;
}

// The Bun adapter starts park workers lazily and keeps them; start them now so
// that the runtime's own descriptors do not count as leaks in the first test.
async function warmUp(): Promise<void> {
  const pollers = [0, 1, 2, 3].map(() => native.pollerCreate(BackendId.default));
  await Promise.all(pollers.map((poller) => native.pollerPark(poller, 0)));
  // A runtime may open a descriptor of its own with its first thread-safe callback.
  const waiting = pollers[0]!;
  if (native.waiterStart(waiting, () => {}) === 0) native.waiterArm(waiting);
  for (const poller of pollers) native.pollerDestroy(poller);
  await native.waiterStopped(waiting);
  await sleep(1);
}
await warmUp();

const backends = runnableBackends();

test("at least one backend is compiled in and runs here", () => {
  assert.ok(backends.some((b) => !b.skip), `backends mask ${native.backends()}`);
  assert.ok(backends.some((b) => b.id === native.defaultBackend()), "the default backend runs");
});

for (const { id, name, skip } of backends) {
  describe(`poller backend ${name}`, { skip }, () => {
    const masks = skip ? undefined : new Masks(id);
    const m = () => masks!;

    test(
      "reports the backend it uses",
      leakFree((scope) => {
        assert.equal(native.pollerBackend(scope.poller(id)), id);
      }),
    );

    test(
      "(a) read interest with no data times out; (b) data from the peer makes it readable",
      leakFree(async (scope) => {
        const poller = scope.poller(id);
        const { client, server } = await tcpPair(scope);
        assert.equal(native.pollerRegister(poller, client, 7, Interest.read), 0);
        assert.equal(waitEvents(poller, 50).size, 0);
        sendAll(server, enc("x"));
        const seen = await eventsUntil(poller, "readable", (s) => s.has(7));
        assert.ok(m().readable(seen.get(7)!));
        assert.ok(!m().writable(seen.get(7)!), "write was not asked for");
      }),
    );

    test(
      "(c) write interest on a fresh socket is writable at once; (d) unregistered, it times out",
      leakFree(async (scope) => {
        const poller = scope.poller(id);
        const { client } = await tcpPair(scope);
        assert.equal(native.pollerRegister(poller, client, 3, Interest.write), 0);
        const seen = waitEvents(poller, LONG_MS);
        assert.ok(m().writable(seen.get(3) ?? 0));
        assert.equal(native.pollerUnregister(poller, client), 0);
        assert.equal(waitEvents(poller, 50).size, 0);
        assert.equal(native.pollerUnregister(poller, client), 0, "unregistering twice is fine");
      }),
    );

    test(
      "(e) modify read -> write reports write and no longer read",
      leakFree(async (scope) => {
        const poller = scope.poller(id);
        const { client, server } = await tcpPair(scope);
        sendAll(server, enc("pending"));
        assert.equal(native.pollerRegister(poller, client, 1, Interest.read), 0);
        await eventsUntil(poller, "readable", (s) => m().readable(s.get(1) ?? 0));
        assert.equal(native.pollerModify(poller, client, 1, Interest.write), 0);
        const mask = waitEvents(poller, LONG_MS).get(1) ?? 0;
        assert.ok(m().writable(mask));
        assert.ok(!m().readable(mask), "read interest was dropped");
      }),
    );

    test(
      "(f) two sockets both written are both readable",
      leakFree(async (scope) => {
        const poller = scope.poller(id);
        const a = await tcpPair(scope);
        const b = await tcpPair(scope);
        assert.equal(native.pollerRegister(poller, a.client, 10, Interest.read), 0);
        assert.equal(native.pollerRegister(poller, b.client, 20, Interest.read), 0);
        sendAll(a.server, enc("a"));
        sendAll(b.server, enc("b"));
        const seen = await eventsUntil(poller, "both readable", (s) => s.has(10) && s.has(20));
        assert.ok(m().readable(seen.get(10)!) && m().readable(seen.get(20)!));
      }),
    );

    test(
      "(g) events carry the token of the socket that is ready, and a modified token",
      leakFree(async (scope) => {
        const poller = scope.poller(id);
        const a = await tcpPair(scope);
        const b = await tcpPair(scope);
        assert.equal(native.pollerRegister(poller, a.client, 1, Interest.read), 0);
        assert.equal(native.pollerRegister(poller, b.client, 2, Interest.read), 0);
        sendAll(a.server, enc("only a"));
        const seen = await eventsUntil(poller, "token 1", (s) => s.has(1));
        assert.ok(!seen.has(2), "the idle socket's token got no event");
        assert.equal(native.pollerModify(poller, a.client, 99, Interest.read), 0);
        const after = waitEvents(poller, LONG_MS);
        assert.deepEqual([...after.keys()], [99]);
      }),
    );

    test(
      "(h) a listener with a pending client is readable (accept on)",
      leakFree(async (scope) => {
        const poller = scope.poller(id);
        const listener = scope.socket(native.tcpListen(LOOPBACK, 0, 16));
        assert.equal(native.pollerRegister(poller, listener, 5, Interest.read), 0);
        assert.equal(waitEvents(poller, 50).size, 0);
        scope.socket(native.tcpConnect(LOOPBACK, native.localPort(listener)));
        const seen = await eventsUntil(poller, "accept readiness", (s) => s.has(5));
        assert.ok(m().readable(seen.get(5)!));
      }),
    );

    test(
      "(i) registering twice and modifying before registering both succeed",
      leakFree(async (scope) => {
        const poller = scope.poller(id);
        const { client } = await tcpPair(scope);
        assert.equal(native.pollerRegister(poller, client, 1, Interest.read), 0);
        assert.equal(native.pollerRegister(poller, client, 2, Interest.write), 0);
        assert.ok(
          m().writable(waitEvents(poller, LONG_MS).get(2) ?? 0),
          "second register = modify",
        );
        const other = await tcpPair(scope);
        assert.equal(native.pollerModify(poller, other.client, 3, Interest.write), 0);
        const seen = await eventsUntil(poller, "token 3", (s) => s.has(3));
        assert.ok(m().writable(seen.get(3)!), "modify of an unregistered socket = register");
      }),
    );

    test(
      "(j) wake: none -> wait times out; woken -> wait and park return; drained -> timeout",
      leakFree(async (scope) => {
        const poller = scope.poller(id);
        assert.equal(waitEvents(poller, 100).size, 0);
        assert.equal(native.pollerWake(poller), 0);
        assert.equal(native.pollerWake(poller), 0, "wakes coalesce");
        const start = Date.now();
        assert.equal(waitEvents(poller, LONG_MS).size, 0, "a wake is consumed, not reported");
        assert.ok(Date.now() - start < LONG_MS / 2, "the wake ended the wait, not its timeout");
        assert.equal(waitEvents(poller, 100).size, 0, "drained: times out again");
        assert.equal(await native.pollerPark(poller, 100), 0, "drained: a park times out");

        const parked = native.pollerPark(poller, LONG_MS);
        await sleep(20);
        assert.equal(native.pollerWake(poller), 0);
        assert.equal(await parked, 1, "a pending park resolves on wake, not on its timeout");
        assert.equal(waitEvents(poller, 0).size, 0, "the park consumed nothing; the wait does");
        assert.equal(await native.pollerPark(poller, 50), 0, "drained again");
      }),
    );

    test(
      "interest 0 gives no events, even after the peer hung up",
      leakFree(async (scope) => {
        const poller = scope.poller(id);
        const { client, server } = await tcpPair(scope);
        sendAll(server, enc("unread"));
        assert.equal(native.pollerRegister(poller, client, 4, 0), 0);
        native.close(server, true);
        scope.forget(server);
        await sleep(20);
        assert.equal(waitEvents(poller, 100).size, 0);
        assert.equal(await native.pollerPark(poller, 100), 0);
        assert.equal(native.pollerModify(poller, client, 4, Interest.read), 0);
        const seen = await eventsUntil(poller, "hang-up after interest", (s) => s.has(4));
        assert.ok(seen.get(4)! !== 0);
      }),
    );

    test(
      "a park resolves when a socket becomes ready, and leaves the event to wait",
      leakFree(async (scope) => {
        const poller = scope.poller(id);
        const { client, server } = await tcpPair(scope);
        assert.equal(native.pollerRegister(poller, client, 8, Interest.read), 0);
        const parked = native.pollerPark(poller, LONG_MS);
        await sleep(20);
        sendAll(server, enc("wake up"));
        assert.equal(await parked, 1);
        assert.ok(m().readable(waitEvents(poller, 0).get(8) ?? 0));
      }),
    );

    test(
      "a park observes an interest change made while it is parked",
      leakFree(async (scope) => {
        const poller = scope.poller(id);
        const { client } = await tcpPair(scope);
        assert.equal(native.pollerRegister(poller, client, 9, Interest.read), 0);
        const parked = native.pollerPark(poller, LONG_MS);
        await sleep(20);
        assert.equal(native.pollerModify(poller, client, 9, Interest.write), 0);
        assert.equal(await parked, 1, "the parked wait saw the new write interest");
        assert.ok(m().writable(waitEvents(poller, 0).get(9) ?? 0));
      }),
    );

    test(
      "several pollers park at once, each woken by its own socket",
      leakFree(async (scope) => {
        const count = 3;
        const pollers = Array.from({ length: count }, () => scope.poller(id));
        const pairs = [];
        for (let i = 0; i < count; i++) {
          const pair = await tcpPair(scope);
          assert.equal(native.pollerRegister(pollers[i]!, pair.client, 100 + i, Interest.read), 0);
          pairs.push(pair);
        }
        const parks = pollers.map((poller) => native.pollerPark(poller, LONG_MS));
        await sleep(20);
        for (let i = count - 1; i >= 0; i--) {
          sendAll(pairs[i]!.server, enc(`to ${i}`));
          assert.equal(await parks[i], 1, `poller ${i} woke`);
        }
        for (let i = 0; i < count; i++) {
          assert.deepEqual([...waitEvents(pollers[i]!, 0).keys()], [100 + i]);
        }
      }),
    );

    test(
      "wait_us: a peek returns nothing at once; 500 µs and 2500 µs waits time out with nothing",
      leakFree(async (scope) => {
        const poller = scope.poller(id);
        const { client } = await tcpPair(scope);
        assert.equal(native.pollerRegister(poller, client, 1, Interest.read), 0);
        const peek = timedWaitUs(poller, 0);
        assert.equal(peek.count, 0);
        assert.ok(peek.ms < AT_ONCE_MS, `a peek took ${peek.ms} ms`);
        const short = timedWaitUs(poller, 500);
        assert.equal(short.count, 0);
        if (subMillisecondWaits(id)) assert.ok(short.ms >= 0.2, `500 µs took ${short.ms} ms`);
        assert.ok(short.ms < AT_ONCE_MS, `500 µs took ${short.ms} ms`);
        const longer = timedWaitUs(poller, 2500);
        assert.equal(longer.count, 0);
        assert.ok(longer.ms >= 1 && longer.ms < AT_ONCE_MS, `2500 µs took ${longer.ms} ms`);
      }),
    );

    test(
      "wait_us: a ready socket ends a long wait at once, with its token",
      leakFree(async (scope) => {
        const poller = scope.poller(id);
        const { client, server } = await tcpPair(scope);
        assert.equal(native.pollerRegister(poller, client, 2, Interest.write), 0);
        const writable = timedWaitUs(poller, LONG_US);
        assert.equal(writable.count, 1);
        assert.ok(m().writable(writable.masks.get(2) ?? 0));
        assert.ok(writable.ms < AT_ONCE_MS, `ready socket, the wait took ${writable.ms} ms`);
        assert.equal(native.pollerModify(poller, client, 2, Interest.read), 0);
        sendAll(server, enc("x"));
        const readable = timedWaitUs(poller, LONG_US);
        assert.equal(readable.count, 1);
        assert.ok(m().readable(readable.masks.get(2) ?? 0));
        assert.ok(readable.ms < LONG_US / 2000, "the data ended the wait, not its timeout");
      }),
    );

    test(
      "wait_us: a wake ends it and is consumed; a wake meant for a park is left to the park",
      leakFree(async (scope) => {
        const poller = scope.poller(id);
        assert.equal(native.pollerWake(poller), 0);
        const woken = timedWaitUs(poller, LONG_US);
        assert.equal(woken.count, 0, "a wake is consumed, not reported");
        assert.ok(woken.ms < LONG_US / 2000, "the wake ended the wait, not its timeout");
        assert.equal(await native.pollerPark(poller, 50), 0, "drained: a park times out");

        const parked = native.pollerPark(poller, LONG_MS);
        await sleep(20);
        assert.equal(native.pollerWake(poller), 0);
        for (let i = 0; i < 10; i++) assert.equal(timedWaitUs(poller, i % 2 ? 100 : 0).count, 0);
        assert.equal(await parked, 1, "the park got its wake despite the waits");
        assert.equal(timedWaitUs(poller, 0).count, 0, "now a wait consumes it");
        assert.equal(await native.pollerPark(poller, 50), 0, "drained again");
      }),
    );

    test(
      "wait_us: a negative timeout other than -1, no capacity or a stale handle is refused",
      leakFree(() => {
        const poller = native.pollerCreate(id);
        assert.ok(poller >= 0);
        const events = new Int32Array(8);
        assert.equal(native.pollerWaitUs(poller, events, -2), NativeError.inval);
        assert.equal(native.pollerWaitUs(poller, events, -(2 ** 31)), NativeError.inval);
        assert.equal(native.pollerWaitUs(poller, new Int32Array(1), 0), NativeError.inval);
        assert.equal(native.pollerDestroy(poller), 0);
        assert.equal(native.pollerWaitUs(poller, events, 0), NativeError.badHandle);
      }),
    );

    test(
      "a waiter calls back once per arm when a socket is ready, and stops with its poller",
      leakFree(async (scope) => {
        const { client, server } = await tcpPair(scope);
        const poller = native.pollerCreate(id);
        assert.ok(poller >= 0);
        let calls = 0;
        const started = native.waiterStart(poller, () => calls++);
        if (started === NativeError.inval) {
          // This runtime offers no thread-safe callback here (a Worker): engines park instead.
          native.pollerDestroy(poller);
          return;
        }
        assert.equal(started, 0);
        assert.equal(native.pollerRegister(poller, server, 5, Interest.read), 0);
        assert.equal(native.waiterArm(poller), 0);
        await sleep(30);
        assert.equal(calls, 0, "nothing ready: no call");
        sendAll(client, enc("x"));
        await until("the waiter's call", () => calls === 1 ? true : undefined);
        await sleep(30);
        assert.equal(calls, 1, "still readable, but not armed again: no second call");
        assert.equal(native.waiterArm(poller), 0);
        await until("the call after the second arm", () => calls === 2 ? true : undefined);
        const events = new Int32Array(8);
        assert.equal(native.pollerWait(poller, events, 0), 1, "the park consumed nothing");
        assert.equal(events[0], 5);
        assert.equal(native.waiterArm(poller), 0);
        await sleep(10);
        assert.equal(native.pollerDestroy(poller), 0, "destroyed while armed");
        await native.waiterStopped(poller);
        assert.equal(native.waiterArm(poller), NativeError.badHandle);
      }),
    );

    test(
      "destroying a poller ends its pending park",
      leakFree(async () => {
        const poller = native.pollerCreate(id);
        assert.ok(poller >= 0);
        const parked = native.pollerPark(poller, LONG_MS);
        await sleep(20);
        assert.equal(native.pollerDestroy(poller), 0);
        assert.notEqual(await parked, 0, "the park ended by the destroy, not by its timeout");
        assert.equal(native.pollerWake(poller), NativeError.badHandle);
        assert.equal(native.pollerDestroy(poller), NativeError.badHandle);
      }),
    );
  });
}

/**
 * The command that runs `file` in a fresh process of this runtime. Under
 * qemu-user (scripts/test/arm64.sh) the runtime binary cannot be executed
 * directly, so TOFU_TEST_EXEC_WRAPPER names the emulator to run it with.
 */
function runtimeCommand(file: string, denoTest: boolean): [string, string[]] {
  const args = typeof process.versions.bun === "string"
    ? [file]
    : denoTest
    ? ["test", "-A", "--no-check", "--sanitize-ops", "--sanitize-resources", file]
    : ["run", "-A", "--no-check", file];
  const wrapper = process.env.TOFU_TEST_EXEC_WRAPPER;
  return wrapper ? [wrapper, [process.execPath, ...args]] : [process.execPath, args];
}

const MOD_URL = pathToFileURL(join(import.meta.dirname!, "..", "ffi", "mod.ts")).href;

/** A park, a wake, a park ended by destroy, and (when `unload`) an unload. */
function lifecycleBody(unload: boolean): string {
  return `
    const native = loadNative();
    const poller = native.pollerCreate(0);
    if (poller < 0) throw new Error("pollerCreate " + poller);
    const parked = native.pollerPark(poller, 60000);
    await new Promise((r) => setTimeout(r, 20));
    native.pollerWake(poller);
    const woken = await parked;
    const ended = native.pollerPark(poller, 60000);
    native.pollerDestroy(poller);
    await ended;
    ${unload ? "native.unload();" : ""}
    console.log("lifecycle ok", woken);`;
}

/** Runs `source` as a script in a fresh process of this runtime; it must exit on its own. */
function runScript(source: string): string {
  const file = join(tmpdir(), `tofu_lifecycle_${process.pid}.ts`);
  writeFileSync(file, `import { loadNative } from "${MOD_URL}";\n${source}\n`);
  try {
    const run = spawnSync(...runtimeCommand(file, false), { encoding: "utf8", timeout: 30_000 });
    assert.equal(run.signal, null, `the process did not exit on its own: ${run.stderr}`);
    assert.equal(run.status, 0, run.stderr);
    return run.stdout;
  } finally {
    rmSync(file, { force: true });
  }
}

describe("waiter lifecycle in a fresh process", () => {
  test("a running waiter keeps the process alive until its poller is destroyed, then it exits", () => {
    const out = runScript(`
      const native = loadNative();
      const poller = native.pollerCreate(0);
      if (poller < 0) throw new Error("pollerCreate " + poller);
      let calls = 0;
      const code = native.waiterStart(poller, () => calls++);
      if (code !== 0) throw new Error("waiterStart " + code);
      native.waiterArm(poller);
      // Only the waiter keeps the process alive now; the timer ends it.
      setTimeout(() => {
        native.pollerWake(poller);
        setTimeout(async () => {
          native.pollerDestroy(poller);
          await native.waiterStopped(poller);
          native.unload();
          console.log("waiter ok", calls);
        }, 50);
      }, 100).unref?.();
    `);
    assert.match(out, /waiter ok 1/);
  });
});

describe("park lifecycle in a fresh process", () => {
  const isBun = typeof process.versions.bun === "string";

  test("after destroy and unload the process exits on its own", () => {
    assert.match(runScript(lifecycleBody(true)), /lifecycle ok 1/);
  });

  test("with nothing parked the process exits on its own, even without unload", () => {
    assert.match(runScript(lifecycleBody(false)), /lifecycle ok 1/);
  });

  test("a pending park keeps the process alive until it ends", () => {
    const out = runScript(`
      const native = loadNative();
      const poller = native.pollerCreate(0);
      native.pollerPark(poller, 300).then((r) => {
        console.log("park ended", r);
        native.pollerDestroy(poller);
        native.unload();
      });
      console.log("main done");`);
    assert.match(out, /main done\npark ended 0/);
  });

  test(
    "Deno's op and resource sanitizers find nothing left after destroy and unload",
    { skip: isBun ? "Deno only: Bun has no op/resource sanitizer" : false },
    () => {
      const file = join(tmpdir(), `tofu_lifecycle_${process.pid}_test.ts`);
      writeFileSync(
        file,
        `import { loadNative } from "${MOD_URL}";
Deno.test("lifecycle", async () => {${lifecycleBody(true)}\n});\n`,
      );
      try {
        const run = spawnSync(...runtimeCommand(file, true), {
          encoding: "utf8",
          timeout: 60_000,
          env: { ...process.env, NO_COLOR: "1" },
        });
        assert.equal(run.status, 0, run.stdout + run.stderr);
        assert.match(run.stdout, /ok \| 1 passed/);
      } finally {
        rmSync(file, { force: true });
      }
    },
  );
});
