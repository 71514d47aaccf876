#!/usr/bin/env bash
# The main job on the local stack: installs the emulator, starts it, creates the template's
# resources, builds the functions as Lambda runs them (release `bootstrap` binaries through
# cargo-lambda; the first build takes several minutes), then runs the demo, which drives them
# through the Lambda Runtime Interface Emulator, and finally serves the web console on what the
# demo left (http://127.0.0.1:3000/, printed at the end). Safe to run again.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
command -v cargo >/dev/null || { echo "cargo is required (https://rustup.rs)" >&2; exit 1; }
infra/stack.sh up
infra/lambda-build.sh > /dev/null
# shellcheck disable=SC1091
source .local/env
cargo run --quiet -p crm-demo

# The web console on what the demo left in the stack, served by the local API at /.
if command -v npm >/dev/null; then
  (cd console && npm ci --no-audit --no-fund --loglevel=error && npm run --silent build >/dev/null)
  cargo build --quiet -p crm-local-api
  pidfile=.local/local-api.pid
  # An earlier run's server (only if it is still the local API) gives the port back first.
  if [[ -f $pidfile ]] && grep -q crm-local-api "/proc/$(cat "$pidfile")/cmdline" 2>/dev/null; then
    kill "$(cat "$pidfile")"
    while kill -0 "$(cat "$pidfile")" 2>/dev/null; do sleep 0.1; done
  fi
  nohup target/debug/crm-local-api > .local/local-api.log 2>&1 &
  echo $! > "$pidfile"
  served=0
  for _ in $(seq 1 50); do
    if curl -fsS http://127.0.0.1:3000/config.json >/dev/null 2>&1; then served=1; break; fi
    sleep 0.2
  done
  if [[ $served == 1 ]] && kill -0 "$(cat "$pidfile")" 2>/dev/null; then
    echo "web console: http://127.0.0.1:3000/ (sign in as tenant demo-tenant, user u-admin, role admin;" >&2
    echo "  it runs until: kill \$(cat $pidfile))" >&2
  else
    echo "the web console did not start (port 3000 taken?): see .local/local-api.log" >&2
  fi
else
  echo "(no npm on this machine: the web console is not served)" >&2
fi
echo "(the emulator keeps running at $AWS_ENDPOINT_URL; stop it with infra/stack.sh down)" >&2
