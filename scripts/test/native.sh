#!/usr/bin/env bash
# Builds the C contract test (native/tests/contract_test.c) and runs it
# against the prebuilt libraries in ffi/prebuilt/ (what ships):
#   linux-x64-gnu with the epoll and the poll backend (natively),
#   linux-arm64-gnu with both backends under qemu-aarch64 (when installed),
#   windows-x64 with the AFD and the WSAPoll backend under Wine (when installed).
# Prints each run's totals and one final "N passed, M failed" line; exits
# non-zero if any run fails. Run scripts/build/native.sh first after editing
# native/ (a stale library is reported).
set -uo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/../build/native_common.sh"

export ZIG_LOCAL_CACHE_DIR="$BUILD_DIR/zig-cache"
mkdir -p "$BUILD_DIR"
log_dir="$(mktemp -d /tmp/tofu-native-test.XXXXXX)"
total_passed=0
total_failed=0
summary=()

stale="$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["sourceHash"])' \
  "$PREBUILT_DIR/manifest.json" 2>/dev/null || echo none)"
if [ "$stale" != "$(native_source_hash)" ]; then
  echo "warning: ffi/prebuilt was not built from the current native/ sources" \
    "(run scripts/build/native.sh)"
fi

# run NAME COMMAND...: runs one contract test, reads its closing line.
run() {
  local name="$1" log="$log_dir/$1.log"
  shift
  echo "== $name"
  timeout 120 "$@" 2>&1 | tr -d '\r' >"$log"
  local status=${PIPESTATUS[0]}
  grep -v -e '^ok ' -e '^wine: ' "$log" || true
  local closing passed failed
  closing="$(grep -E '^[0-9]+ passed, [0-9]+ failed$' "$log" | tail -n 1)"
  if [ -z "$closing" ]; then
    passed=0
    failed=1
    echo "$name: no closing line (exit status $status)"
  else
    passed="${closing%% passed*}"
    failed="${closing#*, }"
    failed="${failed%% failed}"
    [ "$status" -eq 0 ] || [ "$failed" -gt 0 ] || failed=1
  fi
  total_passed=$((total_passed + passed))
  total_failed=$((total_failed + failed))
  summary+=("$name: $passed passed, $failed failed")
}

build_test() { # triple output [extra flags...]
  local triple="$1" out="$2"
  shift 2
  zig cc -target "$triple" -std=c11 -O1 -Wall -Wextra -Werror "$NATIVE_DIR/tests/contract_test.c" \
    -o "$out" "$@"
}

linux_lib="$PREBUILT_DIR/linux-x64-gnu/libtofu.so"
if build_test x86_64-linux-gnu.2.17 "$BUILD_DIR/contract_test-linux-x64" -D_GNU_SOURCE -ldl -lpthread; then
  for backend in epoll poll; do
    run "linux-x64 $backend" "$BUILD_DIR/contract_test-linux-x64" "$linux_lib" "$backend"
  done
else
  summary+=("linux-x64: the test did not build")
  total_failed=$((total_failed + 1))
fi

arm_lib="$PREBUILT_DIR/linux-arm64-gnu/libtofu.so"
if command -v qemu-aarch64-static >/dev/null && [ -d /usr/aarch64-linux-gnu ] && [ -f "$arm_lib" ]; then
  if build_test aarch64-linux-gnu.2.17 "$BUILD_DIR/contract_test-linux-arm64" -D_GNU_SOURCE -ldl -lpthread; then
    for backend in epoll poll; do
      run "linux-arm64 $backend (qemu)" qemu-aarch64-static -L /usr/aarch64-linux-gnu \
        "$BUILD_DIR/contract_test-linux-arm64" "$arm_lib" "$backend"
    done
  fi
else
  echo "== linux-arm64: skipped (needs qemu-user-static, libc6-arm64-cross and the arm64 library)"
fi

wine_bin="$(command -v wine64 || ls /usr/lib/wine/wine64 2>/dev/null || command -v wine || true)"
win_dll="$PREBUILT_DIR/windows-x64/tofu.dll"
if [ -n "$wine_bin" ] && [ -f "$win_dll" ]; then
  if build_test x86_64-windows-gnu "$BUILD_DIR/contract_test-windows-x64.exe" -lws2_32; then
    export WINEDEBUG=-all
    WINEPREFIX="$(mktemp -d /tmp/tofu-wine.XXXXXX)"
    export WINEPREFIX
    for backend in afd wsapoll; do
      run "windows-x64 $backend (wine)" "$wine_bin" "$BUILD_DIR/contract_test-windows-x64.exe" \
        "$win_dll" "$backend"
    done
    wineserver -k 2>/dev/null || "$(dirname "$wine_bin")/wineserver" -k 2>/dev/null || true
    rm -rf "$WINEPREFIX"
  fi
else
  echo "== windows-x64: skipped (needs wine and the windows library)"
fi

echo "== totals"
printf '%s\n' "${summary[@]}"
rm -rf "$log_dir"
echo "$total_passed passed, $total_failed failed"
[ "$total_failed" -eq 0 ]
