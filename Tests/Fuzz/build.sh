#!/usr/bin/env bash
# Builds one libFuzzer harness: the sources of the listed modules and the harness are
# compiled together as a single module (the modules' imports of each other are dropped),
# with coverage instrumentation and AddressSanitizer.
#   build.sh OUTPUT HARNESS MODULE|MODULE/FILE.swift...
# (a MODULE/FILE.swift item takes that one file, for a pure type in a module that also
# holds I/O the harness does not need)
set -euo pipefail
output=$1 harness=$2
shift 2
root=$(cd "$(dirname "$0")/../.." && pwd)
work="$output.src"
rm -rf "$work" && mkdir -p "$work"
pattern=$(printf '%s\n' "${@%%/*}" | paste -sd'|')
for item in "$@"; do
    module=${item%%/*}
    for file in $(find "$root/Sources/$item" -name '*.swift'); do
        sed -E "/^(@testable |internal |public )?import ($pattern)$/d" "$file" > "$work/${module}_$(basename "$file")"
    done
done
swiftc -sanitize=fuzzer,address -parse-as-library -O -module-name Fuzzed \
    -I "$root/Sources/COpenSSL" -I "$root/Sources/CSRTP" \
    "$work"/*.swift "$harness" -o "$output"
