#!/usr/bin/env bash
# Builds every function as Lambda runs it: release binaries named `bootstrap`, through cargo-lambda
# (what `sam build` uses for BuildMethod rust-cargolambda), for this host's architecture so that
# the Runtime Interface Emulator can run them here. Then checks each against Amazon Linux 2023's
# glibc and prints its size. Output: target/lambda/<function>/bootstrap.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
infra/lambda-tools.sh
export PATH="$root/.venv/bin:$PATH"
case "$(uname -m)" in
  x86_64 | amd64) target=x86_64-unknown-linux-gnu ;;
  aarch64 | arm64) target=aarch64-unknown-linux-gnu ;;
  *) echo "==> unsupported architecture $(uname -m)" >&2; exit 1 ;;
esac
functions=(workflow-api records-api trigger-scan record-events action-executor mailbox-sync)
bins=()
for f in "${functions[@]}"; do bins+=(--bin "$f"); done
echo "==> cargo lambda build --release --target $target" >&2
cargo lambda build --release --target "$target" "${bins[@]}" >&2
for f in "${functions[@]}"; do
  binary="target/lambda/$f/bootstrap"
  infra/glibc-check.sh "$binary" >&2
  echo "bytes_$f=$(stat -c %s "$binary")"
done
