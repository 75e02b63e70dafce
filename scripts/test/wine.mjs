#!/usr/bin/env node
// Runs the whole test suite on Bun for Windows under Wine, against ffi/prebuilt/windows-x64/tofu.dll,
// once per Windows poller backend, and prints the closing line of scripts/test/suite.mjs:
// `N passed, M failed, K skipped`.
//
// Usage: node scripts/test/wine.mjs [--backend afd,wsapoll] [test files...]
//
// What it sets up, in node_modules/.cache/tofu-wine/ (git-ignored, reused by later runs):
// - Bun for Windows, the version package.json pins for Bun, from npm (`npm pack @oven/bun-windows-x64`);
// - bcryptprimitives.dll, built from scripts/test/wine/bcryptprimitives.c with zig: Wine 8 lacks that DLL,
//   and Bun imports one function from it (ProcessPrng);
// - a Wine prefix of its own, so the run neither needs nor touches ~/.wine.
// Wine itself comes from the OS (Debian: `apt-get install wine64 wine`).

import { spawnSync } from "node:child_process";
import {
  copyFileSync,
  existsSync,
  mkdirSync,
  readFileSync,
  statSync,
  writeFileSync,
} from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const root = join(dirname(fileURLToPath(import.meta.url)), "..", "..");
const cache = join(root, "node_modules", ".cache", "tofu-wine");
const WINDOWS_BACKENDS = ["afd", "wsapoll"];

/** Runs a command, failing the whole script with its output when it fails. */
function must(command, args, options = {}) {
  const result = spawnSync(command, args, { encoding: "utf8", ...options });
  if (result.status !== 0) {
    console.error(`${command} ${args.join(" ")} failed (${result.status ?? result.signal})`);
    console.error(result.stdout ?? "", result.stderr ?? result.error ?? "");
    console.log("0 passed, 1 failed, 0 skipped");
    process.exit(1);
  }
  return result.stdout;
}

function findWine() {
  for (const name of ["wine64", "wine", "/usr/lib/wine/wine64"]) {
    const found = spawnSync("sh", ["-c", `command -v ${name}`], { encoding: "utf8" });
    if (found.status === 0 && found.stdout.trim() !== "") return found.stdout.trim();
  }
  return null;
}

/** bun.exe of the pinned version, unpacked from its npm package. */
function windowsBun() {
  const version = JSON.parse(readFileSync(join(root, "package.json"), "utf8")).devDependencies.bun;
  const dir = join(cache, `bun-windows-x64-${version}`);
  const exe = join(dir, "package", "bin", "bun.exe");
  if (existsSync(exe)) return exe;
  mkdirSync(dir, { recursive: true });
  const name = must("npm", [
    "pack",
    `@oven/bun-windows-x64@${version}`,
    "--pack-destination",
    dir,
    "--silent",
  ], { cwd: dir }).trim().split("\n").pop();
  must("tar", ["-xzf", join(dir, name), "-C", dir]);
  if (!existsSync(exe)) {
    console.error(`npm package @oven/bun-windows-x64@${version} has no package/bin/bun.exe`);
    process.exit(1);
  }
  return exe;
}

/** Builds the ProcessPrng stub beside bun.exe when it is missing or older than its source. */
function placeRandomStub(bunExe) {
  const source = join(root, "scripts", "test", "wine", "bcryptprimitives.c");
  const built = join(cache, "stub", "bcryptprimitives.dll");
  if (!existsSync(built) || statSync(built).mtimeMs < statSync(source).mtimeMs) {
    mkdirSync(dirname(built), { recursive: true });
    must("python3", [
      "-m",
      "ziglang",
      "cc",
      "-target",
      "x86_64-windows-gnu",
      "-shared",
      "-O2",
      "-o",
      built,
      source,
      "-ladvapi32",
    ], { env: { ...process.env, ZIG_LOCAL_CACHE_DIR: join(cache, "zig-cache") } });
  }
  copyFileSync(built, join(dirname(bunExe), "bcryptprimitives.dll"));
}

function parseArgs(argv) {
  const opts = { backends: WINDOWS_BACKENDS, files: [] };
  for (let i = 0; i < argv.length; i++) {
    if (argv[i] === "--backend") opts.backends = argv[++i].split(",");
    else opts.files.push(argv[i]);
  }
  return opts;
}

const opts = parseArgs(process.argv.slice(2));
const wine = findWine();
const dll = join(root, "ffi", "prebuilt", "windows-x64", "tofu.dll");
if (wine === null || !existsSync(dll)) {
  console.log(
    wine === null ? "skipped: Wine is not installed" : `skipped: ${dll} is missing`,
  );
  process.exit(0);
}
mkdirSync(cache, { recursive: true });
const bunExe = windowsBun();
placeRandomStub(bunExe);

// scripts/test/suite.mjs runs "bun" through TOFU_TEST_BUN: this wrapper starts bun.exe under Wine.
const wrapper = join(cache, "bun-under-wine.sh");
writeFileSync(wrapper, `#!/bin/sh\nexec "${wine}" "${bunExe}" "$@"\n`, { mode: 0o755 });
const env = {
  ...process.env,
  TOFU_TEST_BUN: wrapper,
  WINEPREFIX: join(cache, "prefix"),
  WINEDEBUG: "-all",
  // Bun for Windows cannot open a POSIX path: give it .ci/out as Wine's Z: drive spells it.
  TOFU_TEST_REPORT_DIR: `Z:${join(root, ".ci", "out").replaceAll("/", "\\")}`,
};
const version = spawnSync(wrapper, ["--version"], { env, encoding: "utf8" });
console.log(
  `Bun for Windows ${version.stdout.trim()} under ${
    spawnSync(wine, ["--version"], { encoding: "utf8" }).stdout.trim()
  }`,
);

const run = spawnSync(
  process.execPath,
  [
    join(root, "scripts", "test", "suite.mjs"),
    "--runtime",
    "bun",
    "--backend",
    opts.backends.join(","),
    ...opts.files,
  ],
  { cwd: root, env, stdio: "inherit" },
);
// Stop this prefix's wineserver rather than let it linger after the run.
spawnSync(join(dirname(wine), "wineserver"), ["-k"], { env });
spawnSync("wineserver", ["-k"], { env });
process.exit(run.status ?? 1);
