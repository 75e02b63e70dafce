# Shared by build/native.sh, check/native.sh and test/native.sh (sourced, not run).
# Pins the toolchain and defines the target list and the source hash.

ZIG_VERSION="0.15.2"
REPO_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
NATIVE_DIR="$REPO_ROOT/native"
PREBUILT_DIR="$REPO_ROOT/ffi/prebuilt"
BUILD_DIR="$NATIVE_DIR/build"

# target | zig triple | os | arch | libc | file | backends (comma separated)
NATIVE_TARGETS=(
  "linux-x64-gnu|x86_64-linux-gnu.2.17|linux|x64|glibc|libtofu.so|epoll,poll"
  "linux-arm64-gnu|aarch64-linux-gnu.2.17|linux|arm64|glibc|libtofu.so|epoll,poll"
  "linux-x64-musl|x86_64-linux-musl|linux|x64|musl|libtofu.so|epoll,poll"
  "linux-arm64-musl|aarch64-linux-musl|linux|arm64|musl|libtofu.so|epoll,poll"
  "darwin-x64|x86_64-macos.11.0|darwin|x64|none|libtofu.dylib|kqueue,poll"
  "darwin-arm64|aarch64-macos.11.0|darwin|arm64|none|libtofu.dylib|kqueue,poll"
  "windows-x64|x86_64-windows-gnu|windows|x64|none|tofu.dll|afd,wsapoll"
)

# The table line of a target name (fails for unknown names).
native_target() {
  printf '%s\n' "${NATIVE_TARGETS[@]}" | grep -m1 "^$1|"
}

native_target_names() {
  printf '%s\n' "${NATIVE_TARGETS[@]}" | cut -d'|' -f1
}

# Runs zig, installing the pinned version from PyPI when it is missing.
zig() {
  if [ "$(python3 -m ziglang version 2>/dev/null)" != "$ZIG_VERSION" ]; then
    echo "installing ziglang==$ZIG_VERSION with pip" >&2
    python3 -m pip install --quiet "ziglang==$ZIG_VERSION" >&2 || return 1
  fi
  python3 -m ziglang "$@"
}

# The library's sources, sorted bytewise: every native/*.c and native/*.h
# (the C tests under native/tests are not part of the library).
native_sources() {
  (cd "$NATIVE_DIR" && LC_ALL=C ls -1 -- *.c *.h | LC_ALL=C sort)
}

# Source hash: SHA-256 of the `sha256sum` listing of the sorted sources
# ("<hex>  <name>\n" per file), so any edit, rename, addition or removal
# changes it and any language can recompute it.
native_source_hash() {
  (cd "$NATIVE_DIR" && native_sources | xargs sha256sum | sha256sum | cut -d' ' -f1)
}

# Compiler flags shared by every target, then the ones of one target's OS.
native_common_flags=(-std=c11 -O2 -g0 -Wall -Wextra -Werror -fvisibility=hidden -fno-ident
  -ffile-prefix-map="$REPO_ROOT"=.)
native_os_flags() {
  case "$1" in
  # -z nodelete: a runtime may unload the library while a park thread is still
  # blocked inside it (Deno terminating a Worker); unmapping it then crashes.
  linux) echo "-D_GNU_SOURCE -fPIC -shared -s -Wl,--build-id=none -Wl,-z,nodelete" ;;
  darwin) echo "-D_DARWIN_C_SOURCE -fPIC -shared -s -Wl,-install_name,@rpath/libtofu.dylib" ;;
  windows) echo "-shared -s -lws2_32 -lntdll" ;;
  esac
}

# Writes ffi/prebuilt/manifest.json listing every built library of the table.
write_native_manifest() {
  local source_hash="$1" zig_version
  zig_version="$(zig version)"
  printf '%s\n' "${NATIVE_TARGETS[@]}" | python3 -c '
import hashlib, json, os, sys
abi_line = [l for l in open(sys.argv[1]) if l.startswith("#define TOFU_ABI_VERSION")][0]
targets = []
for line in sys.stdin.read().split():
    target, _triple, os_name, arch, libc, file, backends = line.split("|")
    path = os.path.join(sys.argv[2], target, file)
    if not os.path.exists(path):
        continue
    with open(path, "rb") as f:
        sha = hashlib.sha256(f.read()).hexdigest()
    targets.append({"target": target, "os": os_name, "arch": arch, "libc": libc,
                    "file": target + "/" + file, "sha256": sha, "backends": backends.split(",")})
manifest = {"abiVersion": int(abi_line.split()[2]), "sourceHash": sys.argv[3],
            "zigVersion": sys.argv[4], "targets": targets}
with open(os.path.join(sys.argv[2], "manifest.json"), "w") as f:
    f.write(json.dumps(manifest, indent=2) + "\n")
' "$NATIVE_DIR/tofu.h" "$PREBUILT_DIR" "$source_hash" "$zig_version"
}
