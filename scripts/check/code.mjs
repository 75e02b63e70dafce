#!/usr/bin/env node
// The code checks, in one place: `deno task check` runs this, and so do .ci/run and the GitHub
// workflow (through `deno task check`), so all three check the same things:
//   deno fmt --check, deno lint, deno check (every TypeScript entry and folder), deno doc --lint
//   (both public entries), and the docs' code blocks against the examples (check/docs.mjs).
// It runs the real Deno binary from node_modules itself: inside a `deno task`, a bare `deno`
// resolves to node_modules/.bin/deno, which Deno then runs as a JavaScript bin and fails.
// Prints one line per check and `code: N passed, M failed`. Plain Node on purpose.
// Usage: node scripts/check/code.mjs   (or: deno task check, npm run check)

import { spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const root = join(dirname(fileURLToPath(import.meta.url)), "..", "..");
const local = join(
  root,
  "node_modules",
  ".bin",
  process.platform === "win32" ? "deno.cmd" : "deno",
);
const deno = existsSync(local) ? local : "deno";

/** What `deno check` type-checks: the entries and every folder of TypeScript. */
const TYPE_CHECKED = ["mod.ts", "testing.ts", "tests/", "scripts/", "ffi/", "examples/"];
/** The public entries, whose documentation must be complete. */
const ENTRIES = ["mod.ts", "testing.ts"];

const CHECKS = [
  ["deno fmt --check", deno, ["fmt", "--check"]],
  ["deno lint", deno, ["lint"]],
  [`deno check ${TYPE_CHECKED.join(" ")}`, deno, ["check", ...TYPE_CHECKED]],
  [`deno doc --lint ${ENTRIES.join(" ")}`, deno, ["doc", "--lint", ...ENTRIES]],
  ["docs match the examples", process.execPath, [join(root, "scripts", "check", "docs.mjs")]],
];

let passed = 0;
let failed = 0;
for (const [name, command, args] of CHECKS) {
  const result = spawnSync(command, args, {
    cwd: root,
    stdio: "inherit",
    env: { ...process.env, NO_COLOR: "1" },
    shell: process.platform === "win32" && command !== process.execPath,
  });
  if (result.status === 0) {
    passed++;
    console.log(`ok   ${name}`);
  } else {
    failed++;
    console.log(
      `FAIL ${name} (${result.error?.message ?? `exit ${result.status ?? result.signal}`})`,
    );
  }
}
console.log(`code: ${passed} passed, ${failed} failed`);
process.exit(failed === 0 ? 0 : 1);
