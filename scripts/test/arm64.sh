#!/usr/bin/env bash
# Runs the native contract tests (tests/native_*_test.ts) for linux-arm64:
# the arm64 builds of Deno and Bun run under qemu-user (qemu-aarch64-static,
# sysroot /usr/aarch64-linux-gnu) against the linux-arm64-gnu library.
#
# The runtimes come from npm (`npm pack`) into a throwaway directory,
# .ci/out/arm64 by default (TOFU_ARM64_DIR overrides), never into the repo's
# package.json. The library is ffi/prebuilt/linux-arm64-gnu/libtofu.so when it
# exists; otherwise one is compiled from native/ into that directory with the
# project's zig settings (scripts/build/native_common.sh) and used through
# TOFU_NATIVE_LIB. Prints per-runtime totals; exits non-zero on any failure.
#
# Needs: qemu-user-static, libc6-arm64-cross and libgcc-s1-arm64-cross (Deno
# links libgcc_s); installed with apt-get when missing and running as root.
set -euo pipefail

repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
out="${TOFU_ARM64_DIR:-$repo/.ci/out/arm64}"
deno_version="${DENO_ARM64_VERSION:-2.9.6}"
bun_version="${BUN_ARM64_VERSION:-1.4.5}"
sysroot=/usr/aarch64-linux-gnu
tests=(tests/native_poller_test.ts tests/native_socket_test.ts tests/native_loader_test.ts)

# --- host tools --------------------------------------------------------------
missing=()
command -v qemu-aarch64-static >/dev/null || missing+=(qemu-user-static)
[ -e "$sysroot/lib/libc.so.6" ] || missing+=(libc6-arm64-cross)
[ -e "$sysroot/lib/libgcc_s.so.1" ] || missing+=(libgcc-s1-arm64-cross)
if [ ${#missing[@]} -gt 0 ]; then
  if [ "$(id -u)" != 0 ]; then
    echo "test_arm64: missing Debian packages: ${missing[*]} (install them as root)" >&2
    exit 2
  fi
  echo "test_arm64: installing ${missing[*]}" >&2
  apt-get update -qq >&2
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >&2
fi

# --- arm64 runtimes from npm ---------------------------------------------------
mkdir -p "$out"
# Unpacks an npm package into $out/<dir> once; prints nothing.
fetch_package() {
  local spec="$1" dir="$2" tarball
  [ -d "$out/$dir/package" ] && return 0
  tarball="$(cd "$out" && npm pack --silent "$spec" 2>/dev/null | tail -n 1)" || return 1
  [ -n "$tarball" ] && [ -f "$out/$tarball" ] || return 1
  mkdir -p "$out/$dir"
  tar xzf "$out/$tarball" -C "$out/$dir"
  rm -f "$out/$tarball"
}

if ! fetch_package "@deno/linux-arm64-glibc@$deno_version" "deno-$deno_version"; then
  # The registry reachable here may lag the x64 release by a patch version.
  fallback="${deno_version%.*}.$((${deno_version##*.} - 1))"
  echo "test_arm64: @deno/linux-arm64-glibc@$deno_version is not on the registry; using $fallback" >&2
  deno_version="$fallback"
  fetch_package "@deno/linux-arm64-glibc@$deno_version" "deno-$deno_version"
fi
fetch_package "@oven/bun-linux-aarch64@$bun_version" "bun-$bun_version"
deno="$out/deno-$deno_version/package/deno"
bun="$out/bun-$bun_version/package/bin/bun"
chmod +x "$deno" "$bun"

# --- the arm64 library -------------------------------------------------------
prebuilt="$repo/ffi/prebuilt/linux-arm64-gnu/libtofu.so"
if [ -f "$prebuilt" ]; then
  echo "library: $prebuilt (prebuilt)"
  unset TOFU_NATIVE_LIB
else
  # shellcheck source=native_common.sh
  source "$repo/scripts/build/native_common.sh"
  IFS='|' read -r _target triple os _arch _libc _file _backends <<<"$(native_target linux-arm64-gnu)"
  lib="$out/lib/libtofu.so"
  mkdir -p "$out/lib"
  mapfile -t c_sources < <(native_sources | grep '\.c$')
  # shellcheck disable=SC2046 # the OS flags are meant to split
  (cd "$NATIVE_DIR" && ZIG_LOCAL_CACHE_DIR="$out/zig-cache" zig cc -target "$triple" \
    "${native_common_flags[@]}" $(native_os_flags "$os") \
    -DTOFU_SOURCE_HASH="\"$(native_source_hash)\"" -I. "${c_sources[@]}" -o "$lib")
  echo "library: $lib (no prebuilt linux-arm64-gnu yet: built from native/)"
  export TOFU_NATIVE_LIB="$lib"
fi

# --- run -----------------------------------------------------------------------
# Child processes the tests start (a fresh runtime) go through the emulator
# too: without binfmt_misc the kernel cannot execute an arm64 binary itself.
export QEMU_LD_PREFIX="$sysroot"
export TOFU_TEST_EXEC_WRAPPER="$(command -v qemu-aarch64-static)"
export NO_COLOR=1
cd "$repo"

status=0
log="$out/deno.log"
echo "== deno $("$TOFU_TEST_EXEC_WRAPPER" "$deno" --version | head -n 1) (arm64, qemu)"
# Types were checked on the host; tsc under emulation only costs minutes.
"$TOFU_TEST_EXEC_WRAPPER" "$deno" test -A --no-check --sanitize-ops --sanitize-resources \
  "${tests[@]}" >"$log" 2>&1 || status=1
deno_total="$(grep -E '^(ok|FAILED) \|' "$log" | tail -n 1)"
grep -E '\.\.\. FAILED|^error' "$log" || true

log="$out/bun.log"
echo "== bun $("$TOFU_TEST_EXEC_WRAPPER" "$bun" --version) (arm64, qemu)"
"$TOFU_TEST_EXEC_WRAPPER" "$bun" test "${tests[@]}" >"$log" 2>&1 || status=1
bun_total="$(grep -E '^ *[0-9]+ (pass|skip|fail)$' "$log" | tr -s ' \n' ' ' | sed 's/^ //')"
grep -E '^\(fail\)' "$log" || true

echo
echo "arm64 deno totals: ${deno_total:-no summary (see $out/deno.log)}"
echo "arm64 bun totals: ${bun_total:-no summary (see $out/bun.log)}"

# One closing line with both runtimes' totals (Deno counts test steps; a run with no summary
# counts as a failure), for .ci/run. A grep that finds nothing must not end the script (set -e).
count() { echo "$1" | grep -oE "[0-9]+ $2" | head -n 1 | grep -oE '^[0-9]+' || echo 0; }
deno_passed="$(echo "$deno_total" | grep -oE '[0-9]+ passed \([0-9]+ steps\)' | grep -oE '\([0-9]+' | tr -d '(' || true)"
[ -n "$deno_passed" ] || deno_passed="$(count "$deno_total" passed)"
deno_failed="$(echo "$deno_total" | grep -oE '[0-9]+ failed \([0-9]+ steps\)' | grep -oE '\([0-9]+' | tr -d '(' || true)"
[ -n "$deno_failed" ] || deno_failed="$(count "$deno_total" failed)"
[ -n "$deno_total" ] || deno_failed=1
bun_failed="$(count "$bun_total" fail)"
[ -n "$bun_total" ] || bun_failed=1
echo "arm64: $((deno_passed + $(count "$bun_total" pass))) passed, $((deno_failed + bun_failed)) failed, $(count "$bun_total" skip) skipped"
exit "$status"
