#!/usr/bin/env bash
# Builds the native library and its C contract test (native/tests/contract_test.c)
# with sanitizers and runs the test on every Linux backend (epoll, poll):
#   asan-ubsan: AddressSanitizer (with LeakSanitizer) and UndefinedBehaviorSanitizer,
#               every finding fatal;
#   tsan:       ThreadSanitizer (the park, wake and close paths run on several threads).
# Uses the system cc (gcc or clang, Linux only). Prints each run's totals and one
# final "N passed, M failed" line; exits non-zero if any run fails or any
# sanitizer reports.
set -uo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/../build/native_common.sh"

if [ "$(uname -s)" != "Linux" ]; then
  echo "skipped: the sanitizer runs are set up for Linux"
  exit 0
fi
cc="${CC:-cc}"
out="$BUILD_DIR/sanitizers"
mkdir -p "$out"
mapfile -t c_sources < <(cd "$NATIVE_DIR" && native_sources | grep '\.c$')
total_passed=0
total_failed=0
summary=()

# build NAME FLAGS...: the library and the test, both instrumented the same way.
build() {
  local name="$1"
  shift
  (cd "$NATIVE_DIR" && "$cc" -std=c11 -O1 -g -fno-omit-frame-pointer -D_GNU_SOURCE -Wall -Wextra \
    -Werror -fPIC -shared "$@" -DTOFU_SOURCE_HASH="\"$(native_source_hash)\"" -I. \
    "${c_sources[@]}" -o "$out/libtofu-$name.so" -lpthread) &&
    "$cc" -std=c11 -O1 -g -fno-omit-frame-pointer -D_GNU_SOURCE -Wall -Wextra -Werror "$@" \
      "$NATIVE_DIR/tests/contract_test.c" -o "$out/contract_test-$name" -ldl -lpthread
}

# run NAME BACKEND: one contract test run; a sanitizer report fails it even
# when every case passed.
run() {
  local name="$1" backend="$2" log="$out/$1-$2.log"
  echo "== $name $backend"
  timeout 300 "$out/contract_test-$name" "$out/libtofu-$name.so" "$backend" >"$log" 2>&1
  local status=$?
  grep -v '^ok ' "$log" | head -n 60
  local closing passed failed
  closing="$(grep -E '^[0-9]+ passed, [0-9]+ failed$' "$log" | tail -n 1)"
  passed="${closing%% passed*}"
  failed="${closing#*, }"
  failed="${failed%% failed}"
  [ -n "$closing" ] || { passed=0 failed=1; }
  if grep -qE '^(==[0-9]+==ERROR|WARNING: ThreadSanitizer|SUMMARY: )|runtime error:' "$log"; then
    echo "$name $backend: the sanitizer reported (see above)"
    [ "$failed" -gt 0 ] || failed=1
  fi
  [ "$status" -eq 0 ] || [ "$failed" -gt 0 ] || failed=1
  total_passed=$((total_passed + passed))
  total_failed=$((total_failed + failed))
  summary+=("$name $backend: $passed passed, $failed failed (exit $status)")
}

export ASAN_OPTIONS="detect_leaks=1:abort_on_error=0:halt_on_error=1"
export UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1"
export TSAN_OPTIONS="halt_on_error=0:second_deadlock_stack=1"

for variant in "asan-ubsan:-fsanitize=address,undefined -fno-sanitize-recover=all" \
  "tsan:-fsanitize=thread"; do
  name="${variant%%:*}"
  # shellcheck disable=SC2086 # the flags are meant to split
  if build "$name" ${variant#*:}; then
    for backend in epoll poll; do run "$name" "$backend"; done
  else
    summary+=("$name: did not build")
    total_failed=$((total_failed + 1))
  fi
done

echo "== totals"
printf '%s\n' "${summary[@]}"
echo "$total_passed passed, $total_failed failed"
[ "$total_failed" -eq 0 ]
