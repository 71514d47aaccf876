#!/usr/bin/env bash
# The whole test suite, as CI runs it (.ci/run calls exactly this):
# Python tools, local AWS stack, template lint and policy scan (checkov), formatting, clippy, the
# web console (build and browser tests in Chromium), the
# Lambda binaries (built as sam build does, unoptimised) driven through the Runtime Interface Emulator and `sam local invoke`, the
# infra parity tests, and every Rust test (unit, property and integration tests against the
# emulator).
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
export SAM_CLI_TELEMETRY=0 CARGO_TERM_COLOR="${CARGO_TERM_COLOR:-never}"

# Each step says when it starts (seconds since the run began), so a slow run shows where.
step() { printf '\n==> [%ss] %s\n' "$SECONDS" "$*" >&2; }
# A clean build (CI's) gains nothing from incremental compilation of the workspace's crates.
if [[ "${CI:-}" == true ]]; then export CARGO_INCREMENTAL=0; fi

command -v cargo >/dev/null || { echo "cargo is required (https://rustup.rs)" >&2; exit 1; }
command -v curl >/dev/null || { echo "curl is required" >&2; exit 1; }

step "python tools (.venv); free disk: $(df -Ph . | awk 'NR == 2 {print $4}')"
infra/venv.sh

started_stack=0
if ! infra/stack.sh status >/dev/null 2>&1; then started_stack=1; fi
cleanup() { if [[ $started_stack == 1 ]]; then infra/stack.sh down; fi; }
trap cleanup EXIT

step "local AWS stack from template.yaml"
infra/stack.sh up
# shellcheck disable=SC1091
source .local/env

step "template: cfn-lint and sam validate --lint"
.venv/bin/cfn-lint template.yaml
.venv/bin/sam validate --lint --template template.yaml --region "$AWS_REGION" >/dev/null

step "template: checkov (every check passes, or is skipped on its resource with a reason)"
# Offline: no platform download (guidelines, mappings), no PyPI update check, no API key.
# A parsing error fails too; so does any failed check.
env -u BC_API_KEY BC_SKIP_MAPPING=TRUE CKV_SKIP_PACKAGE_UPDATE_CHECK=TRUE CKV_PARSE_ERROR_FAIL=TRUE \
  .venv/bin/checkov --file template.yaml --framework cloudformation --skip-download --compact --quiet

step "cargo fmt --check"
cargo fmt --all -- --check

step "cargo clippy --all-targets -D warnings"
cargo clippy --workspace --all-targets --quiet -- -D warnings

log="$(mktemp)"
podman_started=0
if ! infra/podman.sh status >/dev/null 2>&1; then podman_started=1; fi
finish() {
  cleanup
  if [[ $podman_started == 1 ]]; then infra/podman.sh down >/dev/null 2>&1 || true; fi
  rm -f "$log" "${console_log:-}" "${console_ready:-}"
}
trap finish EXIT

# From here on every runner runs whatever failed before it, so that one report covers them all.
status=0

# The soak (shared/adapters/tests/soak.rs) runs 1,000 jobs here, about 45 s on the emulator;
# its full 10,000 take about eight minutes: `cargo test -p crm-adapters --test soak`.
export SOAK_JOBS="${SOAK_JOBS:-1000}"
# The mailbox sync's tests start their own IMAP server (dovecot, TLS from an openssl-made CA).
if ! command -v dovecot >/dev/null && [[ ! -x /usr/sbin/dovecot ]] || ! command -v openssl >/dev/null; then
  step "IMAP server for the mailbox sync's tests: dovecot-imapd, openssl"
  imap_pkgs=(dovecot-imapd openssl)
  if ! DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${imap_pkgs[@]}" >&2; then
    apt-get update -q >&2
    DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${imap_pkgs[@]}" >&2
  fi
fi
step "cargo test (unit, property, integration against the emulator)"
cargo test --workspace --no-fail-fast 2>&1 | tee -a "$log" || status=1

# The console's browser tests and schemathesis run beside the Lambda build below: they wait on
# the emulator and the browser more than on the CPU. Once its local API answers, the debug build
# it was started from may be freed.
step "web console: npm ci, build, then (beside the Lambda build) browser tests in Chromium and schemathesis"
console_log="$(mktemp)"
console_ready="$(mktemp -u)"
CONSOLE_READY_FILE="$console_ready" infra/console-test.sh > "$console_log" 2>&1 &
console_pid=$!
while [[ ! -e $console_ready ]] && kill -0 "$console_pid" 2>/dev/null; do sleep 1; done

# The functions are built as `sam build` builds them (cargo-lambda, release profile, the Lambda
# target, glibc checked), with the release profile's optimisation turned off: the same code in
# a third of the build time, which keeps a clean run on two cores under 30 minutes. `sam build`
# below inherits the same settings and so reuses these artifacts. Deployments and infra/demo.sh
# build with the full release profile.
# A clean run has no later use for the test binaries (several GB of them): freeing the disk
# before the release build keeps the run's peak near the size of one build, not of two.
if [[ "${CI:-}" == true ]]; then rm -rf target/debug; fi
step "free disk before the Lambda build: $(df -Ph . | awk 'NR == 2 {print $4}')"
export CARGO_PROFILE_RELEASE_OPT_LEVEL=0 CARGO_PROFILE_RELEASE_LTO=false \
  CARGO_PROFILE_RELEASE_CODEGEN_UNITS=256 CARGO_PROFILE_RELEASE_INCREMENTAL=false
step "Lambda functions: bootstraps through cargo-lambda (release, unoptimised), glibc checked against AL2023"
if infra/lambda-build.sh | tee -a "$log"; then
  step "web console (started beside the Lambda build)"
  if ! wait "$console_pid"; then status=1; fi
  tee -a "$log" < "$console_log"
  step "local stack matches the template; every function through the Lambda RIE, end to end"
  (cd infra && ../.venv/bin/pytest -q tests) | tee -a "$log" || status=1

  step "sam local invoke (podman): the scan and the automation settings API"
  infra/sam-local.sh | grep -E '^sam_local_invoke_ms_' | tee -a "$log" || status=1
else
  status=1
  if ! wait "$console_pid"; then status=1; fi
  tee -a "$log" < "$console_log"
  step "parity of the local stack with the template (the RIE tests need the binaries)"
  (cd infra && ../.venv/bin/pytest -q tests --ignore tests/test_lambda_functions.py) | tee -a "$log" || true
  echo "1 failed (Lambda build)" | tee -a "$log"
fi

# One closing line over every runner: pytest's "N passed" and each cargo "test result:" line.
# (schemathesis's "N generated, N passed" and per-phase lines count requests and operations,
# not tests: left out.)
passed=$(grep -Ev 'generated|✅' "$log" | grep -Eo '([0-9]+) passed' | awk '{s += $1} END {print s + 0}')
failed=$(grep -Ev 'generated|❌' "$log" | grep -Eo '([0-9]+) failed' | awk '{s += $1} END {print s + 0}')
echo
echo "test command: ${SECONDS} s" >&2
echo "tests: $passed passed, $failed failed"
exit "$status"
