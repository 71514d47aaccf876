#!/usr/bin/env bash
# The web console's checks, on the local AWS stack (`infra/stack.sh up`, `.local/env`):
# its dependencies from the lockfile, its build (type-checked against docs/openapi), then the
# browser tests in Debian's Chromium against the console served by the local API, and the
# OpenAPI-driven fuzzing of both APIs (infra/schemathesis.sh).
# Screenshots of the main screens land in console/test-results/screens.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"

chromium="${CHROMIUM_PATH:-/usr/bin/chromium}"
if [[ ! -x "$chromium" ]]; then
  echo "installing Debian's chromium for the browser tests" >&2
  if ! DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends chromium >&2; then
    apt-get update -q >&2
    DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends chromium >&2
  fi
fi
command -v npm >/dev/null || { echo "node and npm are required for the console" >&2; exit 1; }

(cd console && npm ci --no-audit --no-fund --loglevel=error && npm run --silent build >/dev/null)

# shellcheck disable=SC1091
if [[ -z "${SETTINGS_TABLE:-}" ]]; then source .local/env; fi
# The binary `cargo test --workspace` built (this package's test runs it): after the test
# command's cargo step nothing is compiled again, whereas `cargo build -p crm-local-api` would
# resolve other features and rebuild much of the dependency tree.
cargo test -q --workspace --no-run 2>&1 | grep -v "^  Executable" >&2 || true
port="${CONSOLE_TEST_PORT:-3100}"
log="$(mktemp)"
LOCAL_API_PORT="$port" target/debug/crm-local-api >"$log" 2>&1 &
api_pid=$!
trap 'kill "$api_pid" 2>/dev/null || true; rm -f "$log"' EXIT
ready=0
for _ in $(seq 1 100); do
  # Ours, not a server left on the port by an earlier run: it must still be running.
  if ! kill -0 "$api_pid" 2>/dev/null; then
    echo "the local API did not start on port $port:" >&2
    cat "$log" >&2
    echo "1 failed (local API)"
    exit 1
  fi
  if curl -fsS "http://127.0.0.1:$port/config.json" >/dev/null 2>&1; then ready=1; break; fi
  sleep 0.2
done
if [[ $ready == 0 ]]; then echo "1 failed (local API never answered)"; exit 1; fi
# The test command waits for this before it frees the debug build (the server keeps running).
if [[ -n "${CONSOLE_READY_FILE:-}" ]]; then touch "$CONSOLE_READY_FILE"; fi

status=0
(cd console && CONSOLE_URL="http://127.0.0.1:$port" CHROMIUM_PATH="$chromium" npx playwright test) || status=1
# schemathesis's own summary counts requests, not tests (the test command leaves it out).
if ! infra/schemathesis.sh "http://127.0.0.1:$port"; then
  echo "1 failed (schemathesis)"
  status=1
fi
exit "$status"
