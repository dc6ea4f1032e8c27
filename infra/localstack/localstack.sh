#!/usr/bin/env bash
# Start or stop LocalStack (SQS, SNS, S3 without Docker) as a background process of this project.
#
#   localstack.sh up   VENV PORT STATE_DIR   start it, wait until healthy, write STATE_DIR/localstack.pid and .../endpoint
#   localstack.sh down STATE_DIR             stop it by its PID
#
# Why these settings: the twisted gateway ignores the host in GATEWAY_LISTEN and listens on every interface,
# hypercorn honours it (127.0.0.1 only); DNS_ADDRESS=0 keeps it from starting a DNS server and looking up
# upstream resolvers; SQS_ENDPOINT_STRATEGY=path + LOCALSTACK_HOST make queue URLs point at 127.0.0.1 instead of
# *.localhost.localstack.cloud, which needs public DNS. Nothing here reaches the network.
set -euo pipefail

HEALTH_TIMEOUT_S=${LOCALSTACK_HEALTH_TIMEOUT_S:-60}
SERVICES=sqs,sns,s3,cloudformation,iam,sts

die() { echo "localstack: $*" >&2; exit 1; }

alive() { [[ -f $1/localstack.pid ]] && kill -0 "$(cat "$1/localstack.pid")" 2>/dev/null; }

healthy() {  # PYTHON ENDPOINT: every requested service reports available/running
  local body
  body=$(curl -sf --max-time 2 "$2/_localstack/health") || return 1
  "$1" - "$body" "$SERVICES" <<'PY'
import json, sys
states = json.loads(sys.argv[1])["services"]
sys.exit(0 if all(states.get(s) in ("available", "running") for s in sys.argv[2].split(",")) else 1)
PY
}

up() {
  local venv=$1 port=$2 state=$3
  local endpoint="http://127.0.0.1:$port"
  mkdir -p "$state"
  state=$(cd "$state" && pwd)
  if alive "$state"; then
    healthy "$venv/bin/python" "$endpoint" || die "PID $(cat "$state/localstack.pid") is running but $endpoint is not healthy"
    echo "LOCALSTACK_ENDPOINT=$endpoint (already running, PID $(cat "$state/localstack.pid"))"
    return
  fi
  [[ -x $venv/bin/python ]] || die "no virtualenv at $venv"
  rm -rf "$state/volume"
  mkdir -p "$state/volume"
  local started=$SECONDS
  GATEWAY_SERVER=hypercorn GATEWAY_LISTEN="127.0.0.1:$port" LOCALSTACK_HOST="127.0.0.1:$port" \
    SQS_ENDPOINT_STRATEGY=path DNS_ADDRESS=0 SERVICES=$SERVICES PERSISTENCE=0 \
    SKIP_SSL_CERT_DOWNLOAD=1 DISABLE_EVENTS=1 LOCALSTACK_VOLUME_DIR="$state/volume" \
    setsid "$venv/bin/python" -m localstack.runtime.main </dev/null >"$state/localstack.log" 2>&1 &
  echo $! >"$state/localstack.pid"
  local deadline=$((SECONDS + HEALTH_TIMEOUT_S))
  until healthy "$venv/bin/python" "$endpoint"; do
    if ! alive "$state" || ((SECONDS >= deadline)); then
      echo "localstack: did not become healthy at $endpoint within ${HEALTH_TIMEOUT_S}s; last log lines:" >&2
      tail -n 30 "$state/localstack.log" >&2
      down "$state"
      exit 1
    fi
    sleep 0.25
  done
  echo "$endpoint" >"$state/endpoint"
  echo "LOCALSTACK_ENDPOINT=$endpoint (PID $(cat "$state/localstack.pid"), healthy after $((SECONDS - started))s)"
}

down() {
  local state=$1 pid
  [[ -f $state/localstack.pid ]] || { echo "localstack: not running (no $state/localstack.pid)"; return; }
  pid=$(cat "$state/localstack.pid")
  if kill -0 "$pid" 2>/dev/null; then
    kill -TERM "$pid"
    for _ in $(seq 60); do kill -0 "$pid" 2>/dev/null || break; sleep 0.25; done
    if kill -0 "$pid" 2>/dev/null; then
      echo "localstack: PID $pid ignored SIGTERM for 15s; sending SIGKILL" >&2
      kill -KILL "$pid"
    fi
  fi
  rm -f "$state/localstack.pid" "$state/endpoint"
  echo "localstack: stopped (PID $pid)"
}

case ${1:-} in
  up) [[ $# -eq 4 ]] || die "usage: $0 up VENV PORT STATE_DIR"; up "$2" "$3" "$4" ;;
  down) [[ $# -eq 2 ]] || die "usage: $0 down STATE_DIR"; down "$2" ;;
  *) die "usage: $0 up VENV PORT STATE_DIR | down STATE_DIR" ;;
esac
