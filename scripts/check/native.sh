#!/usr/bin/env bash
# Verifies the committed native libraries against the sources:
#   1. ffi/prebuilt/manifest.json's sourceHash is the hash of the current
#      native/ sources (and its abiVersion is tofu.h's);
#   2. every target of the build table is in the manifest, its file exists,
#      its SHA-256 matches, and the file carries the source hash compiled in;
#   3. every target exports every tofu_* function declared in tofu.h, and
#      nothing else;
#   4. linking hygiene: glibc targets need nothing newer than GLIBC_2.17, the
#      Windows DLL imports only system DLLs;
#   5. ffi/prebuilt_manifest.ts (the checksums built into the TypeScript) is current;
#   6. ffi/symbols.ts, NativeError, BackendId and Interest say what tofu.h declares
#      (scripts/check/abi.ts).
# Prints one line per finding and a summary; exits 1 on any mismatch.
set -uo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/../build/native_common.sh"

for tool in llvm-nm llvm-objdump python3; do
  command -v "$tool" >/dev/null || { echo "check_native: $tool is missing (apt-get install llvm)"; exit 2; }
done

NATIVE_TABLE="$(printf '%s\n' "${NATIVE_TARGETS[@]}")" python3 - "$NATIVE_DIR/tofu.h" \
  "$PREBUILT_DIR" "$(native_source_hash)" <<'PY'
import hashlib, json, os, re, subprocess, sys

header, prebuilt, source_hash = sys.argv[1:4]
table = [line.split("|") for line in os.environ["NATIVE_TABLE"].split()]
problems = []
header_text = open(header).read()
declared = sorted(set(re.findall(r"TOFU_API\s+[\w\s\*]+?\b(tofu_\w+)\s*\(", header_text)))
abi = int(re.search(r"#define TOFU_ABI_VERSION (\d+)", header_text).group(1))

def run(*args):
    return subprocess.run(args, capture_output=True, text=True, check=False).stdout

def exported(path, os_name):
    if os_name == "windows":
        dump = run("llvm-objdump", "-p", path)
        table_text = dump.split("Export Table:", 1)[-1] if "Export Table:" in dump else ""
        names = re.findall(r"^\s+\d+\s+0x[0-9a-f]+\s+(\S+)$", table_text, re.M)
        return set(names)
    if os_name == "darwin":
        names = [l.split()[-1] for l in run("llvm-nm", "-gU", path).splitlines() if l.strip()]
        names = [n[1:] if n.startswith("_") else n for n in names]
        return set(n for n in names if n not in ("__dso_handle", "_mh_dylib_header"))
    lines = run("llvm-nm", "-D", "--defined-only", path).splitlines()
    return set(l.split()[-1] for l in lines if l.strip())

try:
    manifest = json.load(open(os.path.join(prebuilt, "manifest.json")))
except (OSError, ValueError) as error:
    print(f"FAIL manifest: cannot read ffi/prebuilt/manifest.json: {error}")
    print("0 targets checked, 1 problem")
    sys.exit(1)

if manifest.get("sourceHash") != source_hash:
    problems.append(f"manifest sourceHash {manifest.get('sourceHash')} is not the hash of the "
                    f"current native/ sources {source_hash} (run scripts/build/native.sh)")
if manifest.get("abiVersion") != abi:
    problems.append(f"manifest abiVersion {manifest.get('abiVersion')} is not tofu.h's {abi}")

entries = {t.get("target"): t for t in manifest.get("targets", [])}
checked = 0
for target, _triple, os_name, arch, libc, file, backends in table:
    entry = entries.pop(target, None)
    if entry is None:
        problems.append(f"{target}: missing from the manifest")
        continue
    path = os.path.join(prebuilt, entry.get("file", ""))
    expected_file = f"{target}/{file}"
    if entry.get("file") != expected_file:
        problems.append(f"{target}: manifest file {entry.get('file')!r}, expected {expected_file!r}")
    if not os.path.isfile(path):
        problems.append(f"{target}: {entry.get('file')} does not exist")
        continue
    checked += 1
    data = open(path, "rb").read()
    sha = hashlib.sha256(data).hexdigest()
    if sha != entry.get("sha256"):
        problems.append(f"{target}: sha256 {sha} differs from the manifest's {entry.get('sha256')}")
    if source_hash.encode() not in data:
        problems.append(f"{target}: the library does not carry the current source hash")
    for key, want in (("os", os_name), ("arch", arch), ("libc", libc), ("backends", backends.split(","))):
        if entry.get(key) != want:
            problems.append(f"{target}: manifest {key} {entry.get(key)!r}, expected {want!r}")
    names = exported(path, os_name)
    missing = [n for n in declared if n not in names]
    extra = sorted(n for n in names if n not in declared)
    if missing:
        problems.append(f"{target}: missing exports: {', '.join(missing)}")
    if extra:
        problems.append(f"{target}: unexpected exports: {', '.join(extra)}")
    if libc == "glibc":
        versions = set(re.findall(r"GLIBC_(\d+)\.(\d+)", run("llvm-objdump", "-T", path)))
        newer = sorted(f"{a}.{b}" for a, b in versions if (int(a), int(b)) > (2, 17))
        if newer:
            problems.append(f"{target}: needs glibc symbols newer than 2.17: {', '.join(newer)}")
    if os_name == "windows":
        dlls = re.findall(r"DLL Name: (\S+)", run("llvm-objdump", "-p", path))
        system = re.compile(r"^(kernel32|ws2_32|ntdll|advapi32|api-ms-win-crt-[\w-]+|ucrtbase|msvcrt)\.dll$", re.I)
        foreign = [d for d in dlls if not system.match(d)]
        if foreign:
            problems.append(f"{target}: imports non-system DLLs: {', '.join(foreign)}")
    status = "ok  " if not any(p.startswith(target + ":") for p in problems) else "FAIL"
    print(f"{status} {target}: {entry.get('file')} ({len(data)} bytes), "
          f"{len(names & set(declared))}/{len(declared)} exports, backends {','.join(entry.get('backends', []))}")

for target in entries:
    problems.append(f"{target}: in the manifest but not in the build table")

for problem in problems:
    print(f"FAIL {problem}")
print(f"source hash {source_hash}, ABI {abi}, {len(declared)} functions in tofu.h")
print(f"{checked} of {len(table)} targets checked, {len(problems)} problem(s)")
sys.exit(1 if problems else 0)
PY
status=$?
# The manifest built into the TypeScript (for URL imports) must match manifest.json.
node "$REPO_ROOT/scripts/build/manifest_ts.mjs" --check || status=1
# The TypeScript side of the boundary must match tofu.h's declarations.
deno="$REPO_ROOT/node_modules/.bin/deno"
[ -x "$deno" ] || deno="$(command -v deno)" || { echo "check_native: deno is missing (npm ci)"; exit 2; }
"$deno" run --allow-read "$REPO_ROOT/scripts/check/abi.ts" "$NATIVE_DIR/tofu.h" || status=1
exit $status
