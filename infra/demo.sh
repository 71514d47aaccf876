#!/usr/bin/env bash
# The main job on the local stack: installs the emulator, starts it, creates the template's
# resources, builds the functions as Lambda runs them (release `bootstrap` binaries through
# cargo-lambda; the first build takes several minutes), then runs the demo, which drives them
# through the Lambda Runtime Interface Emulator. Safe to run again.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
command -v cargo >/dev/null || { echo "cargo is required (https://rustup.rs)" >&2; exit 1; }
infra/stack.sh up
infra/lambda-build.sh > /dev/null
# shellcheck disable=SC1091
source .local/env
cargo run --quiet -p crm-demo
echo "(the emulator keeps running at $AWS_ENDPOINT_URL; stop it with infra/stack.sh down)" >&2
