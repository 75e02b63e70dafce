/**
 * Long wire-fuzzing runs against a tofu server (the fuzzer of
 * tests/reliability_fuzz_test.ts, without its CI-sized defaults).
 *
 * Usage (Deno or Bun):
 *
 *   deno run -A scripts/reliability/fuzz.ts [--cases 5000000] [--seed 1234] [--lanes 8]
 *   bun scripts/reliability/fuzz.ts --cases 5000000
 *   deno run -A scripts/reliability/fuzz.ts --seed 1234 --session 57   (replays one session of a failure)
 *
 * Large runs go in rounds of at most 200 000 cases, each on fresh engines
 * and seeded from the run's seed, so memory stays flat and a failure names
 * the round's seed and session to reproduce with `--seed <round seed>`.
 * Prints progress and a closing `N passed, M failed` line; exits 1 on a
 * failure.
 *
 * @module
 */

import process from "node:process";
import { type FuzzReport, runFuzz, sessionSeed } from "../../tests/fixtures/rel_fuzz.ts";

const ROUND_CASES = 200_000;

interface Args {
  cases: number;
  seed: number;
  lanes: number;
  session: number;
}

function parseArgs(argv: string[]): Args {
  const opts: Args = {
    cases: 1_000_000,
    seed: Math.floor(Math.random() * 0x1_0000_0000),
    lanes: 8,
    session: -1,
  };
  for (let i = 0; i < argv.length; i++) {
    const name = argv[i];
    const value = Number(argv[i + 1]);
    if (name !== "--cases" && name !== "--seed" && name !== "--lanes" && name !== "--session") {
      throw new Error(`Unknown argument "${name}": expected --cases, --seed, --lanes or --session`);
    }
    if (!Number.isInteger(value) || value < 0) {
      throw new Error(`${name} needs a non-negative integer, got "${argv[i + 1]}"`);
    }
    opts[name.slice(2) as keyof Args] = value;
    i++;
  }
  return opts;
}

const opts = parseArgs(process.argv.slice(2));
if (opts.session >= 0) {
  // One session alone: the stream that a failure message names.
  const report = await runFuzz({ seed: opts.seed, cases: 1, lanes: 2, firstSession: opts.session });
  console.log(
    `session ${opts.session} of seed ${opts.seed}: ${JSON.stringify(report.kinds)}, ends ${
      JSON.stringify(report.ends)
    }`,
  );
  console.log("1 passed, 0 failed");
  process.exit(0);
}
console.log(`fuzz: seed ${opts.seed}, ${opts.cases} cases, ${opts.lanes} lanes`);
const started = Date.now();
let done = 0;
let rounds = 0;
let failed = 0;
const totals = { sessions: 0, delivered: 0, controlExchanges: 0, bytes: 0 };
while (done < opts.cases) {
  // One round alone reproduces with the plain seed; later rounds get derived seeds.
  const seed = rounds === 0 ? opts.seed : sessionSeed(opts.seed, -1 - rounds);
  const cases = Math.min(ROUND_CASES, opts.cases - done);
  let report: FuzzReport;
  try {
    report = await runFuzz({
      seed,
      cases,
      lanes: opts.lanes,
      log: (line) => console.log(`round ${rounds + 1} (seed ${seed}): ${line}`),
    });
  } catch (e) {
    failed++;
    console.error(`round ${rounds + 1} failed: ${(e as Error).stack ?? e}`);
    break;
  }
  done += report.cases;
  rounds++;
  totals.sessions += report.sessions;
  totals.delivered += report.delivered;
  totals.controlExchanges += report.controlExchanges;
  totals.bytes += report.bytes;
  console.log(
    `round ${rounds} (seed ${seed}): ${report.cases} cases, ${report.sessions} sessions, ends ${
      JSON.stringify(report.ends)
    }, kinds ${
      JSON.stringify(report.kinds)
    }, ${report.controlExchanges} control round trips, ${report.ms} ms`,
  );
}
const seconds = (Date.now() - started) / 1000;
console.log(
  `fuzz: ${done} cases in ${rounds} rounds, ${totals.sessions} sessions, ${totals.delivered} frames delivered, ${
    (totals.bytes / 1e6).toFixed(1)
  } MB sent, ${totals.controlExchanges} control round trips, ${seconds.toFixed(0)} s (${
    Math.round(done / seconds)
  } cases/s)`,
);
console.log(`${rounds} passed, ${failed} failed`);
process.exit(failed === 0 ? 0 : 1);
