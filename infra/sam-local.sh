#!/usr/bin/env bash
# `sam local invoke` where no Docker engine exists: Debian's podman (with runc) behind DOCKER_HOST
# and a local stand-in for the provided.al2023 image (infra/podman.sh), then `sam build` and an
# invoke of each function named (default: the scan and the automation settings API) with its
# sample event from events/, against the local stack. Fails if a function answers an error.
#   infra/sam-local.sh [Function=event.json ...]
# Caveat: the stand-in image carries this host's glibc, not Amazon Linux's; infra/lambda-build.sh
# checks each binary against AL2023's glibc 2.34.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
infra/lambda-tools.sh
infra/stack.sh up
# shellcheck disable=SC1091
source .local/env
podman_env="$(infra/podman.sh)"
eval "$podman_env"
export PATH="$root/.venv/bin:$PATH"
case "$(uname -m)" in
  x86_64 | amd64) arch=x86_64 ;;
  *) arch=arm64 ;;
esac
overrides="Architecture=$arch"

echo "==> sam build (cargo-lambda, release)" >&2
sam build --beta-features --parameter-overrides "$overrides" > .local/sam-build.log 2>&1 ||
  { tail -30 .local/sam-build.log >&2; exit 1; }

# Inside the container the host's loopback is host.containers.internal (infra/podman.sh).
port="${AWS_ENDPOINT_URL##*:}"
python3 - "$port" > .local/sam-env.json <<'PY'
import json, os, sys
keys = ["SETTINGS_TABLE", "RECORDS_TABLE", "SCHEDULE_TABLE", "RUNS_TABLE", "AUTOMATION_BUS",
        "ATTACHMENTS_BUCKET"]
env = {k: os.environ[k] for k in keys}
env["AWS_ENDPOINT_URL"] = f"http://host.containers.internal:{sys.argv[1]}"
print(json.dumps({"Parameters": env}))
PY

invocations=("$@")
if (( ${#invocations[@]} == 0 )); then
  invocations=(TriggerScanFunction=trigger-scan.json WorkflowApiFunction=workflow-api-list-workflows.json)
fi
for pair in "${invocations[@]}"; do
  fn="${pair%%=*}"
  event="events/${pair#*=}"
  echo "==> sam local invoke $fn -e $event" >&2
  started=$(date +%s%N)
  out="$(sam local invoke "$fn" -e "$event" --skip-pull-image --parameter-overrides "$overrides" \
    --env-vars .local/sam-env.json 2> ".local/sam-$fn.log")" ||
    { tail -20 ".local/sam-$fn.log" >&2; exit 1; }
  ms=$(( ($(date +%s%N) - started) / 1000000 ))
  echo "$out"
  if grep -q '"errorType"' <<< "$out" || grep -q '"statusCode": *[45]' <<< "$out"; then
    echo "==> $fn answered an error" >&2
    tail -20 ".local/sam-$fn.log" >&2
    exit 1
  fi
  echo "sam_local_invoke_ms_$fn=$ms"
done
