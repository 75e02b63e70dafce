// The native loader: where the library comes from, the ABI and checksum
// checks, the one-error-lists-everything failure, and the per-process cache.

import { describe, test } from "node:test";
import assert from "node:assert/strict";
import {
  copyFileSync,
  lstatSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmdirSync,
  rmSync,
  unlinkSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import process from "node:process";
import { pathToFileURL } from "node:url";
import { ABI_VERSION, loadNative, NATIVE_LIB_ENV, NativeLoadError } from "../ffi/mod.ts";
import { PREBUILT_DIR as MAYBE_PREBUILT_DIR } from "../ffi/loader.ts";
import { currentTarget, detectLibc, type Target } from "../ffi/target.ts";
import { registerEmbeddedFiles } from "../ffi/embedded.ts";
import { AmpeError, AmpeStatus, Reactor } from "../mod.ts";

const isBun = typeof process.versions.bun === "string";
const PREBUILT_DIR = MAYBE_PREBUILT_DIR!; // these tests run from local files

/** The library the other tests use: it must load and tell where it came from. */
const reference = loadNative();
const referencePath = reference.path;
const found = currentTarget(isBun ? detectLibc : () => "gnu");
if (typeof found === "string") throw new Error(found);
const target: Target = found;

/** A temporary directory that `body` may fill; removed afterwards. */
async function withTempDir(body: (dir: string) => Promise<void> | void): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), "tofu_loader_"));
  try {
    await body(dir);
  } finally {
    removeTree(dir);
  }
}

/**
 * Removes `dir` and what it holds, entry by entry: Bun for Windows run under Wine 8 fails
 * `rmSync(dir, { recursive: true })` with EFAULT, while single unlinks and rmdirs work.
 * Windows refuses to delete a library that is still mapped, and Bun for Windows keeps a library
 * mapped after `close()`: such a copy (and so its directory) stays in the temp directory.
 */
function removeTree(dir: string): boolean {
  let kept = false;
  for (const name of readdirSync(dir)) {
    const path = join(dir, name);
    if (lstatSync(path).isDirectory()) {
      kept = !removeTree(path) || kept;
      continue;
    }
    try {
      unlinkSync(path);
    } catch (error) {
      const code = (error as { code?: string }).code;
      const mapped = process.platform === "win32" && name === target.fileName &&
        (code === "EPERM" || code === "EBUSY");
      if (!mapped) throw error;
      kept = true;
    }
  }
  if (!kept) rmdirSync(dir);
  return !kept;
}

/** Runs `body` with TOFU_NATIVE_LIB set (or removed), restoring it afterwards. */
async function withEnv(value: string | undefined, body: () => Promise<void> | void): Promise<void> {
  const saved = process.env[NATIVE_LIB_ENV];
  if (value === undefined) delete process.env[NATIVE_LIB_ENV];
  else process.env[NATIVE_LIB_ENV] = value;
  try {
    await body();
  } finally {
    if (saved === undefined) delete process.env[NATIVE_LIB_ENV];
    else process.env[NATIVE_LIB_ENV] = saved;
  }
}

/** The NativeLoadError thrown by `load`. */
function loadError(load: () => unknown): NativeLoadError {
  try {
    load();
  } catch (error) {
    assert.ok(error instanceof NativeLoadError, `not a NativeLoadError: ${error}`);
    assert.equal(error.name, "NativeLoadError");
    return error;
  }
  assert.fail("the library loaded, but it should not have");
}

/** A copy of the real library in `dir`, at the prebuilt layout when `prebuilt`. */
function copyLibrary(dir: string, prebuilt = false): string {
  const path = prebuilt ? join(dir, target.name, target.fileName) : join(dir, target.fileName);
  mkdirSync(join(path, ".."), { recursive: true });
  copyFileSync(referencePath, path);
  return path;
}

/** Hex SHA-256 of a file, computed here independently of the loader. */
async function sha256(path: string): Promise<string> {
  const bytes = readFileSync(path);
  const digest = await crypto.subtle.digest("SHA-256", bytes);
  return [...new Uint8Array(digest)].map((b) => b.toString(16).padStart(2, "0")).join("");
}

/** Writes a manifest for the copy in `dir`, with fields overridden by `change`. */
async function writeManifest(
  dir: string,
  change: { sourceHash?: string; sha256?: string; target?: string } = {},
): Promise<void> {
  const file = `${target.name}/${target.fileName}`;
  const manifest = {
    abiVersion: ABI_VERSION,
    sourceHash: change.sourceHash ?? reference.sourceHash(),
    targets: [{
      target: change.target ?? target.name,
      file,
      sha256: change.sha256 ?? await sha256(join(dir, file)),
    }],
  };
  writeFileSync(join(dir, "manifest.json"), JSON.stringify(manifest));
}

describe("where the library comes from", () => {
  test("a wrong path gives one error that lists the attempt and why it failed", () => {
    const path = join(tmpdir(), "tofu_no_such_dir", target.fileName);
    const error = loadError(() => loadNative({ path }));
    assert.equal(error.attempts.length, 1, "an explicit path is the only place tried");
    assert.equal(error.attempts[0]!.source, "path option");
    assert.equal(error.attempts[0]!.path, path);
    assert.match(error.attempts[0]!.reason, /cannot be opened/);
    assert.match(error.message, /could not be loaded/);
    assert.ok(error.message.includes(path), "the message names the path");
  });

  test("with nothing usable, every source is listed in order with its reason", async () => {
    await withTempDir(async (empty) => {
      await withEnv(undefined, () => {
        const error = loadError(() => loadNative({ prebuiltDir: empty }));
        assert.deepEqual(error.attempts.map((a) => a.source), [
          "path option",
          NATIVE_LIB_ENV,
          `prebuilt ${target.name}`,
        ]);
        assert.deepEqual(error.attempts.map((a) => a.reason.split(":")[0]), [
          "not given",
          "not set",
          "cannot be opened",
        ]);
        assert.equal(error.attempts[2]!.path, join(empty, target.name, target.fileName));
        for (const attempt of error.attempts) assert.ok(error.message.includes(attempt.reason));
      });
    });
  });

  test("TOFU_NATIVE_LIB overrides the prebuilt library", async () => {
    await withTempDir(async (dir) => {
      const copy = copyLibrary(dir);
      await withEnv(copy, () => {
        const native = loadNative();
        try {
          assert.equal(native.path, copy);
          assert.equal(native.abiVersion(), ABI_VERSION);
        } finally {
          native.unload();
        }
      });
    });
  });

  test("a wrong TOFU_NATIVE_LIB is an error, not a silent fall back to the prebuilt", async () => {
    const path = join(tmpdir(), "tofu_no_such_lib.so");
    await withEnv(path, () => {
      const error = loadError(() => loadNative());
      assert.equal(error.attempts.at(-1)!.source, NATIVE_LIB_ENV);
      assert.equal(error.attempts.at(-1)!.path, path);
    });
  });

  test("the path option wins over TOFU_NATIVE_LIB", async () => {
    await withTempDir(async (dir) => {
      const copy = copyLibrary(dir);
      await withEnv(join(dir, "missing.so"), () => {
        const native = loadNative({ path: copy });
        native.unload();
        assert.equal(native.path, copy);
      });
    });
  });

  test(
    "without overrides the prebuilt library for this target is loaded",
    { skip: process.env[NATIVE_LIB_ENV] ? `${NATIVE_LIB_ENV} is set` : false },
    () => {
      assert.equal(referencePath, join(PREBUILT_DIR, target.name, target.fileName));
    },
  );

  test("Linux targets name their C library, gnu or musl, detected at run time", {
    skip: process.platform === "linux" ? false : "Linux only",
  }, () => {
    const musl = currentTarget(() => "musl");
    assert.ok(typeof musl !== "string");
    assert.equal(musl.name, `linux-${process.arch}-musl`);
    assert.equal(detectLibc(), "gnu", "this test machine runs glibc");
  });
});

describe("checks of the loaded library", () => {
  test("an ABI version mismatch names both versions", async () => {
    await withTempDir((dir) => {
      const copy = copyLibrary(dir);
      const error = loadError(() => loadNative({ path: copy, abiVersion: ABI_VERSION + 98 }));
      const { reason } = error.attempts.at(-1)!;
      assert.match(reason, /ABI version mismatch/);
      assert.ok(reason.includes(`ABI version ${ABI_VERSION},`), reason);
      assert.ok(reason.includes(`needs ${ABI_VERSION + 98}`), reason);
    });
  });

  test("a prebuilt whose sources differ from the manifest is refused, naming both hashes", async () => {
    await withTempDir(async (dir) => {
      copyLibrary(dir, true);
      const fake = "0".repeat(64);
      await writeManifest(dir, { sourceHash: fake });
      await withEnv(undefined, () => {
        const error = loadError(() => loadNative({ prebuiltDir: dir }));
        const { reason } = error.attempts.at(-1)!;
        assert.match(reason, /source hash mismatch/);
        assert.ok(reason.includes(fake) && reason.includes(reference.sourceHash()), reason);
      });
    });
  });

  test("a prebuilt whose file differs from the manifest's checksum is refused before loading", async () => {
    await withTempDir(async (dir) => {
      const copy = copyLibrary(dir, true);
      const fake = "f".repeat(64);
      await writeManifest(dir, { sha256: fake });
      await withEnv(undefined, async () => {
        const error = loadError(() => loadNative({ prebuiltDir: dir }));
        const { reason } = error.attempts.at(-1)!;
        assert.ok(reason.includes(fake) && reason.includes(await sha256(copy)), reason);
      });
    });
  });

  test("a manifest without this target is an error", async () => {
    await withTempDir(async (dir) => {
      copyLibrary(dir, true);
      await writeManifest(dir, { target: "plan9-mips" });
      await withEnv(undefined, () => {
        const error = loadError(() => loadNative({ prebuiltDir: dir }));
        assert.match(error.attempts.at(-1)!.reason, /no entry for the target/);
      });
    });
  });

  test("a prebuilt matching its manifest loads; without a manifest it loads unchecked", async () => {
    await withTempDir(async (dir) => {
      const copy = copyLibrary(dir, true);
      await withEnv(undefined, async () => {
        const unchecked = loadNative({ prebuiltDir: dir });
        unchecked.unload();
        assert.equal(unchecked.path, copy);
        await writeManifest(dir);
        const checked = loadNative({ prebuiltDir: dir });
        checked.unload();
        assert.equal(checked.path, copy);
      });
    });
  });

  test("the committed manifest matches the committed library for this target", {
    skip: process.env[NATIVE_LIB_ENV] ? `${NATIVE_LIB_ENV} is set` : false,
  }, () => {
    const manifest = JSON.parse(readFileSync(join(PREBUILT_DIR, "manifest.json"), "utf8"));
    assert.equal(manifest.sourceHash, reference.sourceHash());
    assert.equal(manifest.abiVersion, ABI_VERSION);
  });
});

describe("one library per process", () => {
  test("loading twice shares one instance; it closes after the last unload", async () => {
    await withTempDir((dir) => {
      const copy = copyLibrary(dir);
      const first = loadNative({ path: copy });
      const second = loadNative({ path: copy });
      assert.equal(second, first);
      first.unload();
      assert.equal(second.abiVersion(), ABI_VERSION, "still open for the second user");
      second.unload();
      const third = loadNative({ path: copy });
      assert.notEqual(third, first, "a fresh instance after the library was closed");
      third.unload();
    });
  });

  test("the last unload waits for a pending park, then closes", async () => {
    await withTempDir(async (dir) => {
      const copy = copyLibrary(dir);
      const native = loadNative({ path: copy });
      const poller = native.pollerCreate(0);
      assert.ok(poller >= 0);
      const parked = native.pollerPark(poller, 10_000);
      native.unload();
      assert.equal(native.pollerDestroy(poller), 0, "still open while the park is pending");
      assert.notEqual(await parked, 0, "the destroy ended the park");
      await assert.rejects(native.pollerPark(poller, 0), /unloaded/);
      const fresh = loadNative({ path: copy });
      fresh.unload();
      assert.notEqual(fresh, native, "the next load opens it afresh");
    });
  });
});

describe("embedded libraries (the npm package's Bun entry, bun build --compile)", () => {
  test("a registered library of this target is preferred, and checked against the built-in checksums", async () => {
    await withTempDir((dir) => {
      const copy = join(dir, target.fileName);
      copyFileSync(referencePath, copy);
      registerEmbeddedFiles({ libraries: { [target.name]: copy } });
      try {
        const native = loadNative();
        assert.equal(native.path, copy);
        native.unload();
        // A second file: Windows refuses writes to a library that is (or was) loaded.
        const corrupt = join(dir, `corrupt-${target.fileName}`);
        copyFileSync(referencePath, corrupt);
        writeFileSync(corrupt, "corrupt", { flag: "a" });
        registerEmbeddedFiles({ libraries: { [target.name]: corrupt } });
        const error = loadError(() => loadNative());
        assert.match(
          error.message,
          new RegExp(`embedded ${target.name} \\(.*\\): the file's SHA-256`),
        );
        const prebuiltDir = loadNative({ prebuiltDir: PREBUILT_DIR });
        assert.equal(prebuiltDir.path, referencePath, "an explicit prebuiltDir wins over it");
        prebuiltDir.unload();
      } finally {
        registerEmbeddedFiles(undefined);
      }
    });
  });
});

describe("a load failure as the app sees it", () => {
  test("Reactor.create: one AmpeError carries every attempt, with no cause that repeats them", async () => {
    const missing = join(tmpdir(), `tofu_missing_${process.pid}`, "libtofu.so");
    const error = await Reactor.create({ nativeLibrary: missing }).then(
      (rtr) => rtr.destroy().then(() => assert.fail("a missing library loaded")),
      (error: unknown) => error,
    );
    assert.ok(error instanceof AmpeError, `not an AmpeError: ${error}`);
    assert.equal(error.status, AmpeStatus.allocationFailed);
    assert.match(error.message, /could not be loaded/);
    assert.ok(error.message.includes(missing), error.message);
    assert.equal("cause" in error, false, "the same text again as its cause");
  });
});

describe("Deno permissions", () => {
  test(
    "a load without the needed permissions says which flags are missing",
    { skip: isBun ? "Deno only: Bun has no permission flags" : false },
    () => {
      const mod = pathToFileURL(join(import.meta.dirname!, "..", "ffi", "mod.ts")).href;
      const script = join(tmpdir(), `tofu_permissions_${process.pid}.ts`);
      writeFileSync(
        script,
        `import { loadNative } from "${mod}";
try { loadNative(); } catch (error) { console.log(error.message); }`,
      );
      try {
        // No permission flag at all: every permission is denied. Deno.Command,
        // because node:child_process hands the parent's permissions to a
        // spawned deno.
        // TOFU_TEST_EXEC_WRAPPER: the emulator that runs Deno under qemu-user.
        const wrapper = process.env.TOFU_TEST_EXEC_WRAPPER;
        const args = ["run", "--no-check", script];
        const run = new Deno.Command(wrapper ?? process.execPath, {
          args: wrapper ? [process.execPath, ...args] : args,
          env: { NO_COLOR: "1" },
          stdin: "null",
        }).outputSync();
        const stdout = new TextDecoder().decode(run.stdout);
        assert.equal(run.code, 0, new TextDecoder().decode(run.stderr));
        assert.match(stdout, /--allow-ffi/);
        assert.match(stdout, /--allow-env=TOFU_NATIVE_LIB/);
        assert.match(stdout, /--allow-read=/);
      } finally {
        rmSync(script, { force: true });
      }
    },
  );
});
