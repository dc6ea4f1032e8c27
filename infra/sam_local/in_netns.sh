#!/usr/bin/env bash
# The part of `make sam-local` that runs inside a private network namespace (`unshare --net --fork`):
# dockerd with its default bridge, then the driver (a moto server on the bridge, deploy, sam local invoke).
# Nothing here can reach or be reached from the machine's network: the namespace has only lo and docker0.
#
#   in_netns.sh ROOTFS_TARBALL DOCKER_DATA_ROOT -- DRIVER_COMMAND...
set -euo pipefail

tarball=$1
data_root=$2
shift 3
image=public.ecr.aws/lambda/python:3.13-x86_64
rapid_image=public.ecr.aws/lambda/python:3.13-rapid-x86_64
rootfs_hash=$(basename "$tarball" .tar)
docker=/usr/bin/docker  # Debian's client, the same release as its dockerd

if ip link show eth0 >/dev/null 2>&1; then
  echo "sam-local: eth0 is visible: not in a private network namespace; refusing to start dockerd here" >&2
  exit 1
fi
ip link set lo up

run_dir=$(mktemp -d /tmp/orderflow-dockerd.XXXXXX)
export DOCKER_HOST=unix://$run_dir/docker.sock
dockerd_pid=

stop_dockerd() {
  [[ -n $dockerd_pid ]] || return 0
  kill -TERM "$dockerd_pid" 2>/dev/null || true
  for _ in $(seq 80); do kill -0 "$dockerd_pid" 2>/dev/null || break; sleep 0.25; done
  kill -0 "$dockerd_pid" 2>/dev/null && { echo "sam-local: dockerd ignored SIGTERM; SIGKILL" >&2; kill -KILL "$dockerd_pid"; }
  rm -rf "$run_dir"
}
trap stop_dockerd EXIT

started=$SECONDS
dockerd --host "$DOCKER_HOST" --data-root "$data_root" --exec-root "$run_dir/exec" --pidfile "$run_dir/dockerd.pid" \
  --bip 172.17.0.1/16 --log-level warn >"$run_dir/dockerd.log" 2>&1 &
dockerd_pid=$!
for _ in $(seq 120); do
  $docker version >/dev/null 2>&1 && break
  if ! kill -0 "$dockerd_pid" 2>/dev/null; then break; fi
  sleep 0.25
done
if ! $docker version >/dev/null 2>&1; then
  echo "sam-local: no container engine could start here (dockerd exited, or did not answer within 30s); its log:" >&2
  tail -n 30 "$run_dir/dockerd.log" >&2
  exit 1
fi
echo "sam-local: dockerd ready in $((SECONDS - started))s (PID $dockerd_pid, $DOCKER_HOST)"

if [[ $($docker image inspect -f '{{index .Config.Labels "orderflow.rootfs"}}' "$image" 2>/dev/null) != "$rootfs_hash" ]]; then
  started=$SECONDS
  $docker image rm -f "$rapid_image" >/dev/null 2>&1 || true  # SAM's derived image; rebuilt from the new base
  $docker import \
    --change 'ENV PATH=/var/lang/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
    --change 'ENV LD_LIBRARY_PATH=/var/lang/lib' \
    --change 'ENV LANG=en_US.UTF-8' \
    --change 'ENV TZ=:/etc/localtime' \
    --change 'ENV PYTHONPATH=/var/runtime' \
    --change 'ENV LAMBDA_TASK_ROOT=/var/task' \
    --change 'ENV LAMBDA_RUNTIME_DIR=/var/runtime' \
    --change 'WORKDIR /var/task' \
    --change "LABEL orderflow.rootfs=$rootfs_hash" \
    "$tarball" "$image" >/dev/null
  $docker image prune -f >/dev/null  # the previous stand-in, now untagged
  echo "sam-local: imported $image from $tarball in $((SECONDS - started))s"
else
  echo "sam-local: $image is current ($rootfs_hash)"
fi

"$@"
