#!/usr/bin/env bash
# Build the root filesystem of a stand-in for public.ecr.aws/lambda/python:3.13-x86_64 as a tarball for
# `docker import`, because no registry image can be pulled here. Cached by a hash of its inputs:
#
#   build_image.sh PYTHON CACHE_DIR   -> prints the tarball's path (builds it only when missing)
#
# PYTHON is a python3.13 of a self-contained prefix (pyenv's), copied to /var/lang as AWS's image has it.
set -euo pipefail

python=$1
cache=$2
here=$(cd "$(dirname "$0")" && pwd)
packages=libssl3,libsqlite3-0,libncursesw6,libreadline8,ca-certificates
suite=bookworm
mirror=${DEBIAN_MIRROR:-http://deb.debian.org/debian}

prefix=$("$python" -c 'import sys; print(sys.base_prefix)')
pyversion=$("$python" -c 'import platform; print(platform.python_version())')
[[ $pyversion == 3.13.* ]] || { echo "build_image: $python is Python $pyversion, not 3.13" >&2; exit 1; }

hash=$( { cat "$here/build_image.sh" "$here/runtime-requirements.txt"; echo "$packages $suite $pyversion $prefix"; } \
  | sha256sum | cut -c1-16)
tarball=$cache/lambda-python3.13-$hash.tar
if [[ -s $tarball ]]; then
  echo "$tarball"
  exit 0
fi

mkdir -p "$cache"
root=$(mktemp -d "$cache/rootfs.XXXXXX")
trap 'rm -rf "$root"' EXIT

debootstrap --variant=minbase --include="$packages" "$suite" "$root" "$mirror" >&2

# The interpreter as AWS lays it out: /var/lang, without the test suite and third-party packages;
# bytecode kept and compiled for /var/runtime so a cold start does not recompile boto3 in every container.
mkdir -p "$root/var/lang" "$root/var/runtime" "$root/var/task" "$root/opt"
tar -C "$prefix" --exclude="./lib/python3.13/test" --exclude="./lib/python3.13/site-packages/*" \
  -cf - . | tar -C "$root/var/lang" -xf -
mkdir -p "$root/var/lang/lib/python3.13/site-packages"

"$python" -m pip install -q --disable-pip-version-check --root-user-action=ignore --only-binary=:all: --no-deps \
  --target "$root/var/runtime" -r "$here/runtime-requirements.txt" >&2

cat >"$root/var/runtime/bootstrap" <<'BOOT'
#!/bin/sh
# Started by the Runtime Interface Emulator; the handler comes from the function's configuration.
exec /var/lang/bin/python3.13 -m awslambdaric "${_HANDLER:-$AWS_LAMBDA_FUNCTION_HANDLER}"
BOOT
chmod 755 "$root/var/runtime/bootstrap"

rm -rf "$root/var/cache/apt/"* "$root/var/lib/apt/lists/"* "$root/usr/share/doc" "$root/usr/share/man" "$root/usr/share/locale"
tar -C "$root" --numeric-owner -cf "$tarball.tmp" .
mv "$tarball.tmp" "$tarball"
find "$cache" -maxdepth 1 -name 'lambda-python3.13-*.tar' ! -name "$(basename "$tarball")" -delete  # stale inputs
echo "$tarball"
