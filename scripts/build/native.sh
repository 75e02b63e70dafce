#!/usr/bin/env bash
# Builds the native library for every target (or only the targets named as
# arguments, e.g. `scripts/build/native.sh linux-x64-gnu`) with the pinned
# zig into ffi/prebuilt/<target>/, then rewrites ffi/prebuilt/manifest.json
# from the libraries present. The source hash of native/ is compiled in.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/native_common.sh"

export ZIG_LOCAL_CACHE_DIR="$BUILD_DIR/zig-cache"
source_hash="$(native_source_hash)"
mapfile -t c_sources < <(native_sources | grep '\.c$')

for name in "$@"; do
  native_target "$name" >/dev/null || { echo "build_native: unknown target '$name'" >&2; exit 2; }
done
[ $# -gt 0 ] || set -- $(native_target_names)

cd "$NATIVE_DIR"
for name in "$@"; do
  IFS='|' read -r target triple os arch libc file backends <<<"$(native_target "$name")"
  out="$PREBUILT_DIR/$target/$file"
  mkdir -p "$(dirname "$out")"
  rm -f "$out"
  # shellcheck disable=SC2046 # the OS flags are meant to split
  zig cc -target "$triple" "${native_common_flags[@]}" $(native_os_flags "$os") \
    -DTOFU_SOURCE_HASH="\"$source_hash\"" -I. "${c_sources[@]}" -o "$out"
  rm -f "$PREBUILT_DIR/$target"/*.lib "$PREBUILT_DIR/$target"/*.pdb
  echo "built $target: ffi/prebuilt/$target/$file ($(stat -c %s "$out") bytes)"
done

write_native_manifest "$source_hash"
echo "wrote ffi/prebuilt/manifest.json (source hash $source_hash)"
# The checksums a URL-imported module verifies its download against live in the TypeScript.
node "$REPO_ROOT/scripts/build/manifest_ts.mjs"
