#!/usr/bin/env bash
# The local AWS stack: moto's server on 127.0.0.1:4566 with the template's resources.
#   infra/stack.sh up      start the emulator if it is not running, wait until healthy, create
#                          every resource of template.yaml, write .local/env (idempotent)
#   infra/stack.sh down    stop the emulator this script started
#   infra/stack.sh reset   wipe the emulator's state and create the resources again
#   infra/stack.sh status  say whether it runs
# Point AWS_ENDPOINT_URL elsewhere (a LocalStack container, say) to provision that instead; with
# no AWS_ENDPOINT_URL set the local default is used. Deploy to AWS with `sam deploy`, not this.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
state="$root/.local"
mkdir -p "$state"
host=127.0.0.1
port="${MOTO_PORT:-4566}"
export AWS_ENDPOINT_URL="${AWS_ENDPOINT_URL:-http://$host:$port}"
export AWS_ACCESS_KEY_ID="${AWS_ACCESS_KEY_ID:-test}" AWS_SECRET_ACCESS_KEY="${AWS_SECRET_ACCESS_KEY:-test}"
export AWS_REGION="${AWS_REGION:-us-east-1}"

healthy() { curl -sf -o /dev/null --max-time 2 "$AWS_ENDPOINT_URL/moto-api/" ; }

start() {
  "$root/infra/venv.sh"
  if healthy; then return 0; fi
  echo "==> starting moto on $host:$port" >&2
  # emulator.py: moto with DynamoDB requests serialised (see the file for why).
  nohup "$root/.venv/bin/python" "$root/infra/emulator.py" "$host" "$port" > "$state/moto.log" 2>&1 &
  echo $! > "$state/moto.pid"
  for _ in $(seq 1 200); do
    if healthy; then return 0; fi
    if ! kill -0 "$(cat "$state/moto.pid")" 2>/dev/null; then
      echo "moto exited; see $state/moto.log" >&2; tail -20 "$state/moto.log" >&2; exit 1
    fi
    sleep 0.1
  done
  echo "moto did not become healthy in 20 s; see $state/moto.log" >&2
  exit 1
}

provision() {
  local env_file="$state/env"
  {
    echo "export AWS_ENDPOINT_URL=$AWS_ENDPOINT_URL"
    echo "export AWS_ACCESS_KEY_ID=$AWS_ACCESS_KEY_ID AWS_SECRET_ACCESS_KEY=$AWS_SECRET_ACCESS_KEY"
    echo "export AWS_REGION=$AWS_REGION"
    # Local stub providers listen on loopback over http; AWS deployments never set this.
    echo "export CRM_ALLOW_LOCAL_PROVIDERS=true"
    (cd "$root/infra" && "$root/.venv/bin/python" provision.py)
  } > "$env_file.tmp"
  mv "$env_file.tmp" "$env_file"
  echo "==> resources of template.yaml ready; environment in .local/env" >&2
}

stop() {
  if [[ -f "$state/moto.pid" ]]; then
    kill "$(cat "$state/moto.pid")" 2>/dev/null || true
    rm -f "$state/moto.pid"
    echo "==> moto stopped" >&2
  fi
}

case "${1:-up}" in
  up) start; provision ;;
  down) stop ;;
  reset) start; curl -sf -X POST "$AWS_ENDPOINT_URL/moto-api/reset" > /dev/null; provision ;;
  status) if healthy; then echo "running at $AWS_ENDPOINT_URL"; else echo "not running"; exit 1; fi ;;
  *) echo "usage: $0 up|down|reset|status" >&2; exit 2 ;;
esac
