#!/usr/bin/env node
// Runs before `npm test` and `npm run demo` (their `pre` scripts): on a fresh clone, where the pinned
// Deno, Bun and TypeScript are not installed yet, it runs `npm ci` once, so that each of those two
// commands works as the first command after `git clone`. An installed tree is left alone.
// Plain Node on purpose: this runs on a machine that has only Node and npm.

import { spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const bin = (name) =>
  join(root, "node_modules", ".bin", process.platform === "win32" ? `${name}.cmd` : name);
const missing = ["deno", "bun", "tsc"].filter((name) => !existsSync(bin(name)));

if (missing.length > 0) {
  console.log(`${missing.join(", ")} not installed yet: running npm ci (once)`);
  const npm = process.env.npm_execpath;
  const result = npm === undefined
    ? spawnSync("npm", ["ci", "--no-audit", "--no-fund"], {
      cwd: root,
      stdio: "inherit",
      shell: true,
    })
    : spawnSync(process.execPath, [npm, "ci", "--no-audit", "--no-fund"], {
      cwd: root,
      stdio: "inherit",
    });
  if (result.status !== 0) {
    console.error("npm ci failed: see above");
    process.exit(1);
  }
}
