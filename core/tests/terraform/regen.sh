#!/usr/bin/env bash
# Regenerate expected.jsonl from corpus.txt by asking Terraform's console.
# Usage: ./regen.sh [corpus.txt] [expected.jsonl]
# Env: TERRAFORM (default: terraform on PATH), JOBS (default 2), TIMEOUT (s, default 120)
set -euo pipefail

HERE=$(cd "$(dirname "$0")" && pwd)
CORPUS=$(realpath "${1:-$HERE/corpus.txt}")
OUT=${2:-$HERE/expected.jsonl}
TF=${TERRAFORM:-terraform}
JOBS=${JOBS:-2}
TIMEOUT=${TIMEOUT:-120}

command -v "$TF" >/dev/null || { echo "regen.sh: terraform not found ($TF)" >&2; exit 1; }
command -v python3 >/dev/null || { echo "regen.sh: python3 not found" >&2; exit 1; }

WORK=$(mktemp -d "${TMPDIR:-/tmp}/tf-regen.XXXXXX")
trap 'rm -rf "$WORK"' EXIT
mkdir -p "$WORK/run" "$WORK/res"
: > "$WORK/empty.tfrc"
# Empty CLI config (no ~/.terraformrc warning), no update checks, no colours.
export TF_CLI_CONFIG_FILE="$WORK/empty.tfrc" CHECKPOINT_DISABLE=1 TF_IN_AUTOMATION=1
export TF WORK CORPUS TIMEOUT

"$TF" version -json > "$WORK/version.json" 2>/dev/null || "$TF" version > "$WORK/version.json"

# Line numbers of expression lines (skip blank lines and '#' comments).
grep -n -v -E '^[[:space:]]*(#|$)' "$CORPUS" | cut -d: -f1 > "$WORK/lines" || true

run_one() {
  local n=$1 expr kind dir rc
  expr=$(sed -n "${n}p" "$CORPUS")
  expr=${expr%$'\r'}
  # One empty directory per expression: no config, no state, no lock sharing.
  dir="$WORK/run/$n"
  mkdir -p "$dir"
  cd "$dir"
  for kind in jsonencode type; do
    if printf '%s(%s)\n' "$kind" "$expr" \
        | timeout "$TIMEOUT" "$TF" console -no-color \
          > "$WORK/res/$n.$kind.out" 2> "$WORK/res/$n.$kind.err"; then
      rc=0
    else
      rc=$?
    fi
    echo "$rc" > "$WORK/res/$n.$kind.rc"
  done
  cd "$WORK"
  rm -rf "$dir"
}
export -f run_one

total=$(wc -l < "$WORK/lines")
echo "regen.sh: $total expressions, $JOBS in parallel ($("$TF" version | head -n1))" >&2
xargs -P "$JOBS" -I{} bash -c 'run_one "$1"' _ {} < "$WORK/lines"

python3 "$HERE/regen.py" "$CORPUS" "$WORK/res" "$WORK/version.json" > "$WORK/expected.jsonl"
mv "$WORK/expected.jsonl" "$OUT"
echo "regen.sh: wrote $OUT ($(wc -l < "$OUT") records)" >&2
