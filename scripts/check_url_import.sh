#!/usr/bin/env bash
# Checks the Deno URL import as a new user meets it: the repository is served over HTTP on
# 127.0.0.1 and a script in a fresh directory, with a fresh DENO_DIR, imports mod.ts by URL and
# exchanges a request and a response. Then:
#   - the same script again with the server stopped: the library comes from the cache, offline;
#   - without --allow-net and --allow-write: the error names exactly those flags;
#   - a server whose library is corrupted: a checksum error, and nothing cached.
# Prints one closing line `N passed, M failed`.
set -uo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
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

# A static file server for one directory; prints its port.
cat >"$work/serve.cjs" <<'JS'
const http = require("node:http");
const fs = require("node:fs");
const path = require("node:path");
const root = path.resolve(process.argv[2]);
const types = { ".ts": "application/typescript", ".json": "application/json" };
const server = http.createServer((req, res) => {
  const file = path.join(root, decodeURIComponent(new URL(req.url, "http://x").pathname));
  if (!file.startsWith(root + path.sep)) return res.writeHead(403).end();
  fs.readFile(file, (error, data) => {
    if (error) return res.writeHead(404).end("not found");
    res.writeHead(200, { "content-type": types[path.extname(file)] ?? "application/octet-stream" });
    res.end(data);
  });
});
server.listen(0, "127.0.0.1", () => console.log(server.address().port));
JS

start_server() { # start_server DIR: sets server_pid and port
  node "$work/serve.cjs" "$1" >"$work/port" &
  server_pid=$!
  for _ in $(seq 50); do
    port="$(cat "$work/port")"
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

# The user's script: only a URL, no config, no install step.
write_user_script() { # write_user_script DIR URL
  mkdir -p "$1"
  cat >"$1/main.ts" <<TS
import {
  AllocationStrategy,
  findFreeTcpPort,
  OpCode,
  Reactor,
  TCPClientAddress,
  TCPServerAddress,
} from "$2";

await using rtr = await Reactor.create();
const ampe = rtr.ampe();
const server = ampe.create();
const client = ampe.create();
const port = await findFreeTcpPort();

const welcome = ampe.get(AllocationStrategy.always)!;
new TCPServerAddress("127.0.0.1", port).format(welcome);
server.post(welcome);
ampe.put(await server.waitReceive(5000));

const hello = ampe.get(AllocationStrategy.always)!;
new TCPClientAddress("127.0.0.1", port).format(hello);
client.post(hello);
const helloIn = (await server.waitReceive(5000))!;
helloIn.bhdr.proto.opCode = OpCode.HelloResponse;
server.post(helloIn);
const accepted = (await client.waitReceive(5000))!;
const channel = accepted.bhdr.channelNumber;
ampe.put(accepted);

const request = ampe.get(AllocationStrategy.always)!;
request.bhdr.channelNumber = channel;
request.body.append("ping");
client.post(request);
const got = (await server.waitReceive(5000))!;
got.bhdr.proto.opCode = OpCode.Response;
got.body.append(" pong");
server.post(got);
const reply = (await client.waitReceive(5000))!;
console.log("reply:", new TextDecoder().decode(reply.body.bytes()), "backend:", rtr.backend);
ampe.put(reply);
TS
}

run_user() { # run_user DIR DENO_DIR LOG [extra deno flags...]
  local dir="$1" cache="$2" log="$3"
  shift 3
  (cd "$dir" && env -i PATH="$PATH" HOME="$work/home" DENO_DIR="$cache" NO_COLOR=1 \
    "$deno" run --no-prompt --allow-import="127.0.0.1:$port" --allow-env "$@" main.ts) >"$log" 2>&1
}

mkdir -p "$work/home"

# 1. Fresh cache: download, verify, store, exchange messages.
start_server "$root"
url="http://127.0.0.1:$port/mod.ts"
cache="$work/deno_dir"
write_user_script "$work/app" "$url"
full_flags=(--allow-net="127.0.0.1:$port" --allow-read="$cache" --allow-write="$cache" --allow-ffi="$cache")
run_user "$work/app" "$cache" "$work/fresh.log" "${full_flags[@]}"
echo "--- fresh DENO_DIR:"
cat "$work/fresh.log"
check "fresh DENO_DIR: the URL import exchanges messages" grep -q '^reply: ping pong' "$work/fresh.log"
library="$(find "$cache/tofu" -type f -name 'libtofu*' 2>/dev/null | head -n 1)"
echo "cached library: ${library#"$work"/}"
check "the library is cached in a versioned directory of DENO_DIR" \
  test -n "$library" -a "$(dirname "$(dirname "$(dirname "$library")")")" = "$cache/tofu"
check "no temp file is left behind" test -z "$(find "$cache/tofu" -name '*.tmp' 2>/dev/null)"

# 2. Permissions: the error says which flags are missing.
run_user "$work/app" "$work/deno_dir_perm" "$work/perm.log" --allow-read --allow-ffi
echo "--- without --allow-net and --allow-write:"
sed -n "1,/^Caused by/p" "$work/perm.log" | grep -v "^Caused by"
check "missing permissions: the error names --allow-net for the server" \
  grep -q -- "--allow-net=127.0.0.1:$port" "$work/perm.log"
check "missing permissions: the error names --allow-write for the cache" \
  grep -q -- "--allow-write=$work/deno_dir_perm/tofu" "$work/perm.log"
check "missing permissions: granted flags are not listed" \
  bash -c "! grep -q -- '--allow-read=' '$work/perm.log'"

# 3. Server stopped: the same script runs from the cache.
stop_server
before="$(sha256sum "$library" | cut -d' ' -f1)"
run_user "$work/app" "$cache" "$work/offline.log" "${full_flags[@]}"
echo "--- server stopped:"
cat "$work/offline.log"
check "server stopped: the cached library and modules are used" \
  grep -q '^reply: ping pong' "$work/offline.log"
check "the cached library is unchanged" test "$(sha256sum "$library" | cut -d' ' -f1)" = "$before"

# 4. A corrupted library on the server: a checksum error, nothing cached.
site="$work/site"
mkdir -p "$site"
cp -r "$root/mod.ts" "$root/src" "$root/ffi" "$site/"
for lib in "$site"/ffi/prebuilt/*/*tofu*; do printf 'corrupt' >>"$lib"; done
start_server "$site"
cache="$work/deno_dir_corrupt"
write_user_script "$work/app_corrupt" "http://127.0.0.1:$port/mod.ts"
run_user "$work/app_corrupt" "$cache" "$work/corrupt.log" \
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
