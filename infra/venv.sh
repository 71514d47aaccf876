#!/usr/bin/env bash
# Creates the project's Python virtualenv (.venv) with the local AWS emulator, cfn-lint and the
# SAM CLI, and checkov in a venv of its own inside it (.venv/checkov, linked as .venv/bin/checkov;
# its pins clash with the SAM CLI's, see infra/requirements-checkov.txt), and schemathesis likewise
# (.venv/schemathesis). Idempotent: reinstalls only when one of the requirements files changed.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
venv="$root/.venv"
stamp="$venv/.requirements.sha256"
want="$(cat "$root/infra/requirements.txt" "$root/infra/requirements-checkov.txt" \
  "$root/infra/requirements-schemathesis.txt" | sha256sum | cut -d' ' -f1)"
if [[ -x "$venv/bin/python" && -f "$stamp" && "$(cat "$stamp")" == "$want" ]]; then
  exit 0
fi
echo "==> installing the local stack's Python tools into .venv" >&2
python3 -m venv "$venv"
python3 -m venv "$venv/checkov"
python3 -m venv "$venv/schemathesis"
# The three installs at once: mostly downloads and unpacking, which overlap well.
install() { "$venv/$1/bin/pip" install --quiet --disable-pip-version-check -r "$root/infra/$2"; }
install . requirements.txt & main=$!
install checkov requirements-checkov.txt & checkov=$!
install schemathesis requirements-schemathesis.txt & fuzz=$!
wait "$main" && wait "$checkov" && wait "$fuzz"
ln -sf ../checkov/bin/checkov "$venv/bin/checkov"
ln -sf ../schemathesis/bin/schemathesis "$venv/bin/schemathesis"
echo "$want" > "$stamp"
