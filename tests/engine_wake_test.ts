// How a parked engine is woken (issue 10): the kernel wake (Linux io_uring:
// the kernel itself tells the runtime's event loop), the native waiter
// thread, or the park run off the JS thread. Each must carry a paced
// exchange over real sockets, report itself in stats, and leave nothing
// behind; TOFU_WAKE chooses among them.
import { test } from "node:test";
import assert from "node:assert/strict";
import process from "node:process";
import { AmpeError, AmpeStatus, OpCode, Reactor } from "../mod.ts";
import { BackendId, NativeError } from "../ffi/mod.ts";
import { expectMsg, postNew, recv, TRANSPORTS, withPair } from "./_support/scenario.ts";
import { skipFor } from "./_support/host.ts";
import { native } from "./_support/native.ts";
import { nativeHandleCount, openFds, SOCKET_FDS } from "./_support/resources.ts";
import { sleep } from "./_support/wait.ts";

const LIMIT = { timeout: 60_000 };
/** Requests of one paced exchange, far enough apart that both engines park between them. */
const ROUNDS = 12;
const GAP_MS = 3;

type Kind = "kernel" | "thread" | "park";

/**
 * Why this host has no kernel wake for the backend under test, or false when
 * it has one: asked of the library itself, as an engine does.
 */
function kernelWakeSkip(): string | false {
  const backend = process.env.TOFU_BACKEND ?? "";
  if (backend !== "" && backend !== "epoll") return `the ${backend} backend has no kernel wake`;
  const poller = native.pollerCreate(BackendId.default);
  if (native.pollerBackend(poller) !== BackendId.epoll) {
    native.pollerDestroy(poller);
    return "the default backend here is not epoll";
  }
  const code = native.kernelWakeStart(poller, () => {});
  const osError = native.lastOsError();
  native.pollerDestroy(poller);
  if (code === 0) return false;
  return code === NativeError.unsupported
    ? `no kernel wake on this host (io_uring refused: ${native.osErrorName(osError) || osError})`
    : `the kernel wake failed to start with code ${code}`;
}

const KERNEL_SKIP = kernelWakeSkip();

/** Runs `fn` with TOFU_WAKE set to `kind` while engines are created. */
async function withWake(kind: string, fn: () => Promise<void>): Promise<void> {
  const before = process.env.TOFU_WAKE;
  process.env.TOFU_WAKE = kind;
  try {
    await fn();
  } finally {
    if (before === undefined) delete process.env.TOFU_WAKE;
    else process.env.TOFU_WAKE = before;
  }
}

/** The kind an engine that prefers `kind` ends up with on this host. */
function expectedKind(kind: Kind): Kind {
  if (kind === "kernel" && KERNEL_SKIP) return "thread";
  return kind;
}

for (const kind of ["kernel", "thread", "park"] as const) {
  for (const t of TRANSPORTS) {
    test(
      `wake ${kind} (${t}): a paced exchange is carried, stats say how, nothing is left behind`,
      {
        ...LIMIT,
        ...skipFor(t),
      },
      async () => {
        const handles = nativeHandleCount();
        const sockets = openFds(SOCKET_FDS);
        await withWake(kind, () =>
          withPair(t, async ({ ac, gc, gs, C, rs, rc }) => {
            for (let i = 0; i < ROUNDS; i++) {
              await sleep(GAP_MS);
              const sent = postNew(ac, gc, (m) => {
                m.bhdr.proto.opCode = OpCode.Request;
                m.bhdr.channelNumber = C;
                m.body.append(`ping ${i}`);
              });
              const req = await recv(gs);
              assert.equal(req.body.text(), `ping ${i}`);
              req.bhdr.proto.opCode = OpCode.Response;
              gs.post(req);
              const reply = expectMsg(await recv(gc), {
                op: OpCode.Response,
                origin: "A",
                status: 0,
                ch: C,
                mid: sent.mid,
              });
              ac.put(reply);
            }
            for (const r of [rs, rc]) {
              const stats = r.stats();
              assert.equal(stats.wake, expectedKind(kind), "the wake in use");
              // Gaps longer than any spin (at most 1 ms by default) leave it parked.
              assert.ok(stats.wakeUps > 0, "it parked and was woken");
            }
          }));
        assert.equal(nativeHandleCount(), handles, "native handles left behind");
        if (sockets >= 0) assert.equal(openFds(SOCKET_FDS), sockets, "sockets left open");
      },
    );
  }
}

test("the kernel wake is the default where the host has one", {
  ...LIMIT,
  skip: KERNEL_SKIP,
}, async () => {
  await withPair("tcp", async ({ rs, rc }) => {
    await sleep(GAP_MS);
    assert.equal(rs.stats().wake, "kernel");
    assert.equal(rc.stats().wake, "kernel");
  });
});

test("TOFU_WAKE with an unknown value is refused with notAllowed, naming the choices", async () => {
  await withWake("spin", async () => {
    await assert.rejects(Reactor.create(), (err: unknown) => {
      assert.ok(err instanceof AmpeError);
      assert.equal(err.status, AmpeStatus.notAllowed);
      assert.match(err.message, /TOFU_WAKE="spin".*kernel, thread, park/);
      return true;
    });
  });
});
