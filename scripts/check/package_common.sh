# Shared by the package checks (scripts/check/fresh_clone.sh, check/npm_runtimes.sh,
# check/npm_types.sh, check/bun_compile.sh, check/jsr.sh): tools, a `check` that prints one
# ok/FAIL line, a new user's environment, and where the packed artifacts of a fresh clone live.
# Source it; it sets root, bin, bun, deno, work (a temp dir removed on exit), passed, failed.

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
bin="$root/node_modules/.bin"
bun="$bin/bun"
deno="$bin/deno"
[ -x "$bun" ] || bun="$(command -v bun)" || { echo "bun is missing (npm ci)"; exit 2; }
[ -x "$deno" ] || deno="$(command -v deno)" || { echo "deno is missing (npm ci)"; exit 2; }
work="$(mktemp -d "${TMPDIR:-/tmp}/tofu_package.XXXXXX")"
trap 'rm -rf "$work"' EXIT
passed=0
failed=0

# The fresh clone and the tarball packed from it (written by scripts/check/fresh_clone.sh).
package_out="$root/.ci/out/package"

check() { # check NAME COMMAND...
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

# Prints the closing line and exits with the result: finish NAME.
finish() {
  echo "$1: $passed passed, $failed failed"
  [ "$failed" -eq 0 ]
  exit
}

# A new user's environment: nothing from this repository or this shell.
mkdir -p "$work/home"
as_user() {
  env -i PATH="$(dirname "$bun"):$(dirname "$deno"):$(dirname "$(command -v node)"):/usr/local/bin:/usr/bin:/bin" \
    HOME="$work/home" NO_COLOR=1 DENO_DIR="$work/deno_dir" BUN_INSTALL_CACHE_DIR="$work/bun_cache" \
    npm_config_cache="$work/npm_cache" "$@"
}

# The npm tarball to check: $TOFU_TARBALL, else the one check/fresh_clone.sh packed.
package_tarball() {
  if [ -n "${TOFU_TARBALL:-}" ]; then
    echo "$TOFU_TARBALL"
    return
  fi
  local found
  found="$(find "$package_out" -maxdepth 1 -name 'tofu-js-*.tgz' 2>/dev/null | head -n 1)"
  if [ -z "$found" ]; then
    echo "no packed tarball in ${package_out#"$root"/}: run scripts/check/fresh_clone.sh first" >&2
    return 1
  fi
  echo "$found"
}

# Copies examples/request_response.ts and examples/pair.ts into DIR, importing SPECIFIER instead of
# ../mod.ts and SPECIFIER/testing instead of ../testing.ts (the package's two entries); nothing
# else changes. copy_example DIR SPECIFIER
copy_example() {
  local file
  for file in request_response.ts pair.ts; do
    sed -e "s#from \"\\.\\./mod\\.ts\"#from \"$2\"#" \
      -e "s#from \"\\.\\./testing\\.ts\"#from \"$2/testing\"#" "$root/examples/$file" >"$1/$file"
  done
  if ! grep -q "from \"$2/testing\"" "$1/request_response.ts"; then
    echo "the example does not import the testing entry $2/testing"
    exit 2
  fi
  if grep -nE 'from "\.\./' "$1/request_response.ts" "$1/pair.ts"; then
    echo "the example imports more than ../mod.ts and ../testing.ts from the repository (above)"
    exit 2
  fi
}

# The example's last lines: the response to the request, then the server's channel_closed Signal
# after the bye. exchanged LOG
exchanged() {
  grep -q '^client <- Response | app | success .*"4"$' "$1" &&
    grep -q '^server <- Signal | engine | channelClosed' "$1"
}
