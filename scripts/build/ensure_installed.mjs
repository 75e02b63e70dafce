#!/usr/bin/env node
// Runs before `npm test` and `npm run demo` (their `pre` scripts): on a fresh clone, where the pinned
// Deno, Bun and TypeScript are not installed yet (or not the versions the lockfile pins), it runs
// `npm ci` once, so that each of those two commands works as the first command after `git clone`.
// A tree installed as the lockfile says is left alone.
// Plain Node on purpose: this runs on a machine that has only Node and npm.

import { spawnSync } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const root = join(dirname(fileURLToPath(import.meta.url)), "..", "..");
const bin = (name) =>
  join(root, "node_modules", ".bin", process.platform === "win32" ? `${name}.cmd` : name);
/** The version of a package the lockfile pins, and the one installed (undefined: none). */
function versions(name) {
  const read = (path) => {
    try {
      return JSON.parse(readFileSync(join(root, path), "utf8"));
    } catch {
      return undefined;
    }
  };
  const locked = read("package-lock.json")?.packages?.[`node_modules/${name}`]?.version;
  const installed = read(join("node_modules", name, "package.json"))?.version;
  return { locked, installed };
}

const tools = { deno: "deno", bun: "bun", tsc: "typescript" };
const missing = Object.entries(tools).filter(([command, name]) => {
  const { locked, installed } = versions(name);
  return !existsSync(bin(command)) || installed !== locked;
}).map(([command]) => command);

if (missing.length > 0) {
  console.log(`${missing.join(", ")} not installed as the lockfile pins: running npm ci (once)`);
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
