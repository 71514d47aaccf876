#!/usr/bin/env bash
# Fuzzes both HTTP APIs from their OpenAPI documents (docs/openapi) with schemathesis: every
# response must be no server error (5xx) and must match the schema its document gives for it.
#
#     infra/schemathesis.sh http://127.0.0.1:3000          # as the test command runs it
#     FUZZ_EXAMPLES=50 FUZZ_PHASES=examples,coverage,fuzzing,stateful infra/schemathesis.sh URL
#
# The URL is a local API (infra/local-api) on the local AWS stack; each run fuzzes a tenant of
# its own as an administrator, so the calls reach the handlers rather than stopping at 401/403.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
url="${1:?usage: infra/schemathesis.sh BASE_URL}"
infra/venv.sh
examples="${FUZZ_EXAMPLES:-15}"
# The coverage phase (boundary values of every member: about 14,000 requests, 3 minutes here)
# runs when asked for; the test command keeps to examples, fuzzing and stateful sequences.
phases="${FUZZ_PHASES:-examples,fuzzing,stateful}"
# The local API's unsigned dev token (as `crm-local-api token` prints it), made here: the test
# command frees the debug build while this runs beside the Lambda build.
dev_token() {
  python3 -c 'import base64, json, sys
b64 = lambda d: base64.urlsafe_b64encode(json.dumps(d).encode()).decode().rstrip("=")
tenant, user = sys.argv[1], sys.argv[2]
claims = {"sub": user, "custom:tenant_id": tenant, "cognito:groups": ["admin"],
          "email": f"{user}@{tenant}.local.test"}
print(b64({"alg": "none", "typ": "JWT"}) + "." + b64(claims) + ".")' "$1" "$2"
}
status=0
for api in workflow-api records-api; do
  token="$(dev_token "t-fuzz-$api-$(date +%s%N)" u-fuzz)"
  echo "schemathesis: $api ($phases, $examples examples per operation)" >&2
  if ! .venv/bin/schemathesis run "docs/openapi/$api.json" --url "$url" \
    -H "Authorization: Bearer $token" \
    --checks not_a_server_error,response_schema_conformance \
    --max-examples "$examples" --phases "$phases" --workers 2 \
    --no-color --warnings off; then
    status=1
    echo "schemathesis: $api failed" >&2
  fi
done
exit "$status"
