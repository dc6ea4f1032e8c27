#!/usr/bin/env bash
# `make sam-local`: run event files through real `sam local invoke` (Docker) against a moto server,
# with Docker's bridge kept inside a private network namespace made for this run.
#
#   run.sh CASES_TOML      (environment from the Makefile: PYTHON313, SAM, PY, ORDERFLOW_CACHE;
#                           SAM_LOCAL_STEP=bench times the cases instead of checking them: make bench-sam-local)
#
# Never passes without running: if no container engine can start, it fails and says why.
set -euo pipefail

root=$(cd "$(dirname "$0")/../.." && pwd)
cases=$1
cache=${ORDERFLOW_CACHE:-$HOME/.cache/orderflow}
total_started=$SECONDS

need=()
command -v dockerd >/dev/null || need+=(docker.io)
command -v debootstrap >/dev/null || need+=(debootstrap)
command -v ip >/dev/null || need+=(iproute2)
if ((${#need[@]})); then
  echo "sam-local: installing ${need[*]}"
  apt-get update -q
  DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${need[@]}"
fi

started=$SECONDS
tarball=$("$root/infra/sam_local/build_image.sh" "$PYTHON313" "$cache")
echo "sam-local: Lambda python3.13 root filesystem $tarball ($((SECONDS - started))s)"

export PYTHONPATH=$root/infra${PYTHONPATH:+:$PYTHONPATH}
started=$SECONDS
"$PY" -m sam_local.driver build "$cases"
echo "sam-local: sam build ($((SECONDS - started))s)"

started=$SECONDS
unshare --net --fork "$root/infra/sam_local/in_netns.sh" "$tarball" "$cache/docker" -- \
  "$PY" -m sam_local.driver "${SAM_LOCAL_STEP:-invoke}" "$cases" </dev/null
echo "sam-local: in the namespace $((SECONDS - started))s; whole target $((SECONDS - total_started))s"
