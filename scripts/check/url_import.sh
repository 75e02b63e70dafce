#!/usr/bin/env bash
# Checks the Deno URL import as a new user meets it: the repository is served over HTTP on
# 127.0.0.1 and, from an empty directory with a fresh DENO_DIR, `deno run` runs
# examples/request_response.ts by URL, so its ../mod.ts and ../testing.ts imports and the native library come over
# HTTP, and it exchanges a request and a response. Then:
#   - the same example again with the server stopped: the library comes from the cache, offline;
#   - without --allow-net and --allow-write: the error names exactly those flags;
#   - a server whose library is corrupted: a checksum error, and nothing cached.
# Prints one closing line `N passed, M failed`.
set -uo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
deno="$root/node_modules/.bin/deno"
[ -x "$deno" ] || deno="$(command -v deno)" || { echo "check_url_import: deno is missing (npm install)"; exit 2; }
work="$(mktemp -d "${TMPDIR:-/tmp}/tofu_url_import.XXXXXX")"
passed=0
failed=0
server_pid=""

cleanup() {
  [ -z "$server_pid" ] || kill "$server_pid" 2>/dev/null
  rm -rf "$work"
}
trap cleanup EXIT

check() { # check NAME CONDITION-COMMAND...
  local name="$1"
  shift
  if "$@"; then
    echo "ok   $name"
    passed=$((passed + 1))
  else
    echo "FAIL $name"
    failed=$((failed + 1))
  fi
}

# The README's server for a local tree (scripts/serve.mjs), on a free port.
start_server() { # start_server DIR: sets server_pid and port
  node "$root/scripts/serve.mjs" "$1" 0 >"$work/serving" &
  server_pid=$!
  for _ in $(seq 50); do
    port="$(sed -nE 's#^serving .* at http://127\.0\.0\.1:([0-9]+)/$#\1#p' "$work/serving")"
    [ -n "$port" ] && return 0
    sleep 0.1
  done
  echo "check_url_import: the HTTP server did not start"
  exit 2
}

stop_server() {
  kill "$server_pid" && wait "$server_pid" 2>/dev/null
  server_pid=""
}

# The last lines of examples/request_response.ts: the response to the request, then the server's
# channel_closed Signal after the bye.
exchanged() { # exchanged LOG
  grep -q '^client <- Response | app | success .*"4"$' "$1" &&
    grep -q '^server <- Signal | engine | channelClosed' "$1"
}

# The user runs the example by URL from an empty directory: no config, no install step. Being a
# remote module, every relative import of it (../mod.ts, ../testing.ts, ./pair.ts) comes over HTTP too.
run_user() { # run_user DENO_DIR LOG [extra deno flags...]
  local cache="$1" log="$2"
  shift 2
  mkdir -p "$work/app"
  (cd "$work/app" && env -i PATH="$PATH" HOME="$work/home" DENO_DIR="$cache" NO_COLOR=1 \
    "$deno" run --no-prompt --allow-import="127.0.0.1:$port" "$@" \
    "http://127.0.0.1:$port/examples/request_response.ts") >"$log" 2>&1
}

mkdir -p "$work/home"

# 1. Fresh cache: download, verify, store, exchange messages.
start_server "$root"
cache="$work/deno_dir"
full_flags=(--allow-env --allow-net="127.0.0.1:$port" --allow-read="$cache" --allow-write="$cache" --allow-ffi="$cache")
run_user "$cache" "$work/fresh.log" "${full_flags[@]}"
echo "--- fresh DENO_DIR:"
cat "$work/fresh.log"
check "fresh DENO_DIR: the example exchanges messages over the URL import" exchanged "$work/fresh.log"
library="$(find "$cache/tofu" -type f -name 'libtofu*' 2>/dev/null | head -n 1)"
echo "cached library: ${library#"$work"/}"
check "the library is cached in a versioned directory of DENO_DIR" \
  test -n "$library" -a "$(dirname "$(dirname "$(dirname "$library")")")" = "$cache/tofu"
check "no temp file is left behind" test -z "$(find "$cache/tofu" -name '*.tmp' 2>/dev/null)"

# 2. Permissions: the error says which flags are missing.
run_user "$work/deno_dir_perm" "$work/perm.log" --allow-env --allow-read --allow-ffi
echo "--- without --allow-net and --allow-write:"
sed -n "1,/^Caused by/p" "$work/perm.log" | grep -v "^Caused by"
check "missing permissions: the error names --allow-net for the server" \
  grep -q -- "--allow-net=127.0.0.1:$port" "$work/perm.log"
check "missing permissions: the error names --allow-write for the cache" \
  grep -q -- "--allow-write=$work/deno_dir_perm/tofu" "$work/perm.log"
check "missing permissions: granted flags are not listed" \
  bash -c "! grep -q -- '--allow-read=' '$work/perm.log'"

# No permission at all but the import: every missing flag in one error, printed once.
run_user "$work/deno_dir_none" "$work/none.log"
echo "--- no permission flags:"
sed -n "1,/^    at /p" "$work/none.log" | grep -v "^    at "
check "no permissions: one error names env, net, read, write and ffi" bash -c \
  "grep -q -- '--allow-env=' '$work/none.log' && grep -q -- '--allow-net=127.0.0.1:$port' '$work/none.log' &&
   grep -q -- '--allow-read=' '$work/none.log' && grep -q -- '--allow-write=' '$work/none.log' &&
   grep -q -- '--allow-ffi=' '$work/none.log'"
check "no permissions: the load error is printed once" \
  test "$(grep -c 'could not be loaded' "$work/none.log")" -eq 1

# One round is enough: the flags that error names, as a shell would expand them, let the example
# run (without DENO_DIR, so Deno's default cache dir is the one named).
mapfile -t named < <(grep -oE -- '--allow-[a-z]+=[^ ]+' "$work/none.log" | sed "s#\$HOME#$work/home_round#")
mkdir -p "$work/home_round" "$work/app"
(cd "$work/app" && env -i PATH="$PATH" HOME="$work/home_round" NO_COLOR=1 \
  "$deno" run --no-prompt --allow-import="127.0.0.1:$port" "${named[@]}" \
  "http://127.0.0.1:$port/examples/request_response.ts") >"$work/round.log" 2>&1
echo "--- with exactly the named flags: ${named[*]}"
tail -n 2 "$work/round.log"
check "no permissions: granting the named flags is enough (one round)" exchanged "$work/round.log"

# 3. Server stopped: the same example runs from the cache.
stop_server
before="$(sha256sum "$library" | cut -d' ' -f1)"
run_user "$cache" "$work/offline.log" "${full_flags[@]}"
echo "--- server stopped:"
cat "$work/offline.log"
check "server stopped: the cached library and modules are used" exchanged "$work/offline.log"
check "the cached library is unchanged" test "$(sha256sum "$library" | cut -d' ' -f1)" = "$before"

# 4. A corrupted library on the server: a checksum error, nothing cached.
site="$work/site"
mkdir -p "$site"
cp -r "$root/mod.ts" "$root/testing.ts" "$root/src" "$root/ffi" "$root/examples" "$site/"
for lib in "$site"/ffi/prebuilt/*/*tofu*; do printf 'corrupt' >>"$lib"; done
start_server "$site"
cache="$work/deno_dir_corrupt"
run_user "$cache" "$work/corrupt.log" --allow-env \
  --allow-net="127.0.0.1:$port" --allow-read="$cache" --allow-write="$cache" --allow-ffi="$cache"
status=$?
echo "--- corrupted library on the server:"
sed -n "1,/^Caused by/p" "$work/corrupt.log" | grep -v "^Caused by"
check "corrupted library: the script fails" test "$status" -ne 0
check "corrupted library: the error names the checksum mismatch" \
  grep -q 'SHA-256 .*, the manifest built into this version' "$work/corrupt.log"
check "corrupted library: nothing is cached" \
  test -z "$(find "$cache/tofu" -type f 2>/dev/null)"
stop_server

echo "url-import: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
