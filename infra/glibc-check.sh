#!/usr/bin/env bash
# Checks that a dynamically linked binary runs on Amazon Linux 2023, whose glibc is 2.34: prints
# the highest GLIBC_x.y symbol version it needs and fails when that is newer. A binary built on
# this Debian host (glibc 2.36) with plain cargo can need 2.35+ and then fails on Lambda with
# "version `GLIBC_2.35' not found"; cargo-lambda (zig) targets an older glibc. The local base
# image of infra/podman.sh carries the host's glibc, so `sam local invoke` would not notice.
#   infra/glibc-check.sh BINARY [MAX]      MAX defaults to 2.34 (or $GLIBC_MAX)
set -euo pipefail
if (( $# < 1 || $# > 2 )); then
  echo "usage: infra/glibc-check.sh BINARY [MAX_GLIBC_VERSION]" >&2
  exit 2
fi
bin="$1"
max="${2:-${GLIBC_MAX:-2.34}}"
if [[ ! -f "$bin" ]]; then
  echo "==> $bin: no such file" >&2
  exit 2
fi
if ! command -v objdump >/dev/null; then
  echo "==> installing binutils (objdump)" >&2
  apt-get install -y -q --no-install-recommends binutils >&2 ||
    { apt-get update -q >&2 && apt-get install -y -q --no-install-recommends binutils >&2; }
fi

# -T: the dynamic symbol table, each imported symbol with its version (e.g. GLIBC_2.34).
if ! syms="$(objdump -T "$bin" 2>/dev/null)"; then
  echo "$bin: no dynamic symbols (static binary or not ELF): no glibc requirement"
  exit 0
fi
versions="$(grep -o 'GLIBC_[0-9]\+\(\.[0-9]\+\)*' <<< "$syms" | sed 's/^GLIBC_//' | sort -u -V || true)"
if [[ -z "$versions" ]]; then
  echo "$bin: needs no versioned glibc symbol"
  exit 0
fi
highest="$(tail -n 1 <<< "$versions")"
# sort -V puts the larger version last: if that is not max, highest > max.
if [[ "$highest" == "$max" || "$(printf '%s\n%s\n' "$highest" "$max" | sort -V | tail -n 1)" == "$max" ]]; then
  echo "$bin: needs GLIBC_$highest (<= $max): ok"
  exit 0
fi
echo "$bin: needs GLIBC_$highest, newer than $max; symbols above $max:" >&2
while read -r v; do
  if [[ "$(printf '%s\n%s\n' "$v" "$max" | sort -V | tail -n 1)" != "$max" ]]; then
    grep -E "GLIBC_${v//./\\.}([^.0-9]|$)" <<< "$syms" | awk '{print "  " $NF " (GLIBC_'"$v"')"}' >&2
  fi
done <<< "$versions"
exit 1
