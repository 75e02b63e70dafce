#!/usr/bin/env bash
# Checks `bun build --compile` with the packed npm tarball (scripts/check/fresh_clone.sh): a fresh
# app adds it with `bun add ./<tarball>`, examples/request_response.ts importing `tofu-js` is
# compiled into one binary, the app (with its node_modules) is deleted, and the binary runs from an
# empty directory in an empty environment: the library for this target (and the park worker) come
# from inside the binary. Prints the binary's size and one closing line `N passed, M failed`.
set -uo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/package_common.sh"

tarball="$(package_tarball)" || exit 2
app="$work/app"
mkdir -p "$app"
printf '{ "name": "app", "private": true, "type": "module" }\n' >"$app/package.json"
(cd "$app" && as_user "$bun" add "$tarball") >"$work/add.log" 2>&1
check "bun add ./<tarball> in a fresh app" test $? -eq 0
copy_example "$app" "tofu-js"
binary="$work/request_response"
(cd "$app" && as_user "$bun" build --compile request_response.ts --outfile "$binary") >"$work/build.log" 2>&1
build_status=$?
cat "$work/build.log"
check "bun build --compile makes a binary" test "$build_status" -eq 0 -a -x "$binary"
[ -x "$binary" ] || finish bun-compile
echo "binary: $(stat -c %s "$binary") bytes"
rm -rf "$app"
mkdir -p "$work/empty"
(cd "$work/empty" && env -i HOME="$work/empty" PATH=/usr/bin:/bin timeout 60 "$binary") >"$work/run.log" 2>&1
run_status=$?
cat "$work/run.log"
check "the binary, run from an empty dir without node_modules, exchanges messages" \
  bash -c "[ $run_status -eq 0 ] && grep -q '^client <- Response | app | success .*\"4\"$' '$work/run.log' &&
    grep -q '^server <- Signal | engine | channelClosed' '$work/run.log'"
check "the empty directory stays empty (nothing extracted beside the binary)" \
  test -z "$(ls -A "$work/empty")"

# The same app cross-compiled for linux-arm64 picks the arm64 library from inside the binary; run
# under qemu-user where it is installed (as scripts/test/arm64.sh does).
sysroot=/usr/aarch64-linux-gnu
if command -v qemu-aarch64-static >/dev/null && [ -d "$sysroot/lib" ]; then
  mkdir -p "$app"
  printf '{ "name": "app", "private": true, "type": "module" }\n' >"$app/package.json"
  (cd "$app" && as_user "$bun" add "$tarball") >"$work/add_arm64.log" 2>&1
  copy_example "$app" "tofu-js"
  arm64="$work/request_response_arm64"
  (cd "$app" && as_user "$bun" build --compile --target=bun-linux-arm64 request_response.ts \
    --outfile "$arm64") >"$work/build_arm64.log" 2>&1
  tail -n 1 "$work/build_arm64.log"
  rm -rf "$app"
  (cd "$work/empty" && env -i HOME="$work/empty" PATH=/usr/bin:/bin QEMU_LD_PREFIX="$sysroot" \
    timeout 120 qemu-aarch64-static "$arm64") >"$work/run_arm64.log" 2>&1
  tail -n 2 "$work/run_arm64.log"
  check "a binary cross-compiled for linux-arm64 exchanges messages (qemu-user)" exchanged "$work/run_arm64.log"
else
  echo "skip the linux-arm64 binary: qemu-aarch64-static or $sysroot is missing"
fi
finish bun-compile
