#!/usr/bin/env bash
# Installs the Lambda build and run tools into the project's .venv:
#   - cargo-lambda from PyPI (a prebuilt wheel that brings zig through `ziglang`; building it with
#     `cargo install` takes over half an hour on a small machine),
#   - the Lambda Runtime Interface Emulator as .venv/bin/aws-lambda-rie, copied from the
#     aws-sam-cli wheel (it ships the static binary), so no download and no container is needed.
# Idempotent: prints nothing when everything is already in place.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
venv="$root/.venv"
cargo_lambda_version="1.9.2"

"$root/infra/venv.sh"

# cargo-lambda: reinstall only when the pinned version is not the installed one.
installed="$("$venv/bin/python" - <<'EOF'
from importlib import metadata
try:
    print(metadata.version("cargo-lambda"))
except metadata.PackageNotFoundError:
    pass
EOF
)"
if [[ "$installed" != "$cargo_lambda_version" || ! -x "$venv/bin/cargo-lambda" ]]; then
  echo "==> installing cargo-lambda $cargo_lambda_version into .venv" >&2
  "$venv/bin/pip" install --quiet --disable-pip-version-check "cargo-lambda==$cargo_lambda_version"
fi

# The RIE binary matching this host's architecture, taken from the installed SAM CLI.
case "$(uname -m)" in
  x86_64 | amd64) arch=x86_64 ;;
  aarch64 | arm64) arch=arm64 ;;
  *) echo "==> unsupported architecture $(uname -m) for aws-lambda-rie" >&2; exit 1 ;;
esac
src="$("$venv/bin/python" - "$arch" <<'EOF'
import pathlib, sys
import samcli
print(pathlib.Path(samcli.__file__).parent / "local" / "rapid" / f"aws-lambda-rie-{sys.argv[1]}")
EOF
)"
dst="$venv/bin/aws-lambda-rie"
if [[ ! -f "$src" ]]; then
  echo "==> $src is missing from the aws-sam-cli package" >&2
  exit 1
fi
# cmp keeps the copy in step with SAM CLI upgrades without rewriting it on every run.
if [[ ! -x "$dst" ]] || ! cmp -s "$src" "$dst"; then
  echo "==> installing aws-lambda-rie ($arch) into .venv/bin" >&2
  cp "$src" "$dst.tmp"
  chmod +x "$dst.tmp"
  mv "$dst.tmp" "$dst"
fi
