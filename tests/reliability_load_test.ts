// Load: 1000 concurrent connections to one server engine, each exchanging
// requests and responses; every exchange completes and is checked, and
// descriptors, native handles and memory return to their baseline after the
// groups are destroyed. Runs in a child process whose descriptor limit is
// raised to 4096 (the default soft limit may be 1024).
import { describe as suite, test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { startChild } from "./fixtures/rel_wire.ts";
import { fdLimitSkip } from "./_support/host.ts";

/** bun test applies its 5 s default to node:test tests unless a test names its own limit. */
const LIMIT = { timeout: 120_000 };

const CONNECTIONS = 1000;
const ROUNDS = 5;
/** Rounds before the baseline: a runtime opens some descriptors and threads lazily (Deno: a socket pair). */
const WARM_UP = 2;
const REQUESTS = 10;
const FD_LIMIT = 4096;

/** The hard descriptor limit a child may raise its soft limit to (Infinity when unlimited). */
function hardFdLimit(): number {
  const r = spawnSync("bash", ["-c", "ulimit -Hn"], { encoding: "utf8" });
  if (r.status !== 0) return 0;
  const text = r.stdout.trim();
  return text === "unlimited" ? Infinity : Number(text);
}

interface LoadReport {
  connections: number;
  requests: number;
  rounds: { ms: number; exchanges: number; peakFds: number; poolEmpty: number }[];
  after: { fds: number; handles: number; rss: number }[];
}

const mb = (bytes: number) => `${(bytes / 1024 / 1024).toFixed(1)} MB`;

suite("load", () => {
  const cannot = fdLimitSkip(256);
  const hard = cannot ? 0 : hardFdLimit();
  const skip = cannot ||
    (hard < FD_LIMIT
      ? `the hard descriptor limit is ${hard}, below the ${FD_LIMIT} needed`
      : false);
  test(
    `${CONNECTIONS} concurrent connections (half TCP, half UDS) x ${REQUESTS} exchanges, ${
      ROUNDS - WARM_UP
    } rounds after ${WARM_UP} warm-up rounds: all checked, nothing left behind`,
    { ...LIMIT, skip },
    async () => {
      const child = startChild("rel_load_child.ts", {
        args: [String(CONNECTIONS), String(ROUNDS), String(REQUESTS)],
        fdLimit: FD_LIMIT,
        limitMs: 110_000,
      });
      const r = await child.result;
      assert.equal(r.timedOut, false, `the load child hung; stderr: ${r.err}`);
      assert.equal(r.code, 0, `load child exit code (signal ${r.signal}); stderr: ${r.err}`);
      const report: LoadReport = JSON.parse(r.out.trim().split("\n").at(-1)!);
      const base = report.after[WARM_UP - 1]!;
      console.log(
        `load: ${CONNECTIONS} connections, rounds ${
          report.rounds.map((x) => `${x.exchanges} exchanges in ${x.ms} ms (peak ${x.peakFds} fds)`)
            .join("; ")
        }; after each round fds ${report.after.map((a) => a.fds).join("/")}, RSS ${
          report.after.map((a) => mb(a.rss)).join("/")
        }`,
      );
      assert.equal(report.rounds.length, ROUNDS);
      for (const [i, round] of report.rounds.entries()) {
        assert.equal(
          round.exchanges,
          CONNECTIONS * REQUESTS,
          `round ${i + 1}: every exchange completed`,
        );
        // Both ends live in the child: at least two descriptors per connection were open at once.
        if (round.peakFds >= 0) {
          assert.ok(
            round.peakFds >= 2 * CONNECTIONS,
            `round ${i + 1}: only ${round.peakFds} descriptors open at the peak`,
          );
        }
      }
      for (const [i, after] of report.after.entries()) {
        if (i < WARM_UP - 1) continue;
        assert.equal(after.fds, base.fds, `descriptors after round ${i + 1}`);
        assert.equal(after.handles, base.handles, `native handles after round ${i + 1}`);
        assert.ok(
          after.rss <= base.rss * 1.5 + 20 * 1024 * 1024,
          `RSS after round ${i + 1} is ${mb(after.rss)}, baseline ${mb(base.rss)}`,
        );
      }
    },
  );
});
