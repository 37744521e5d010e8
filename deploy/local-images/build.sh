#!/bin/sh
# Base images built from Debian's own packages, for a host that reaches no image registry (an
# air-gapped site, or CI here): a Debian root filesystem made by debootstrap and imported, then
# a Python, a PostgreSQL, a Redis and an nginx image built on it. docker-compose.yml takes them
# through PYTHON_IMAGE, POSTGRES_IMAGE, REDIS_IMAGE and NGINX_IMAGE (defaults: the public
# images); it prints those four settings on stdout when it is done (its progress: stderr).
#
#   sudo deploy/local-images/build.sh            # needs debootstrap and a running dockerd
#
# LOCAL_IMAGE_PREFIX (formbridge-local) names the images; DEBIAN_MIRROR picks the mirror. An
# image already built is kept: delete it (docker image rm) to build it again.
set -eu
prefix=${LOCAL_IMAGE_PREFIX:-formbridge-local}
suite=bookworm
mirror=${DEBIAN_MIRROR:-http://deb.debian.org/debian}
here=$(cd "$(dirname "$0")" && pwd)
base="$prefix/debian:$suite"

if ! docker image inspect "$base" >/dev/null 2>&1; then
  root=$(mktemp -d)
  trap 'rm -rf "$root"' EXIT
  debootstrap --variant=minbase "$suite" "$root" "$mirror" >&2
  # The host's own extra certificate authorities (a TLS-inspecting proxy's, a company's): the
  # images then reach PyPI and Debian as this host does.
  if ls /usr/local/share/ca-certificates/*.crt >/dev/null 2>&1; then
    mkdir -p "$root/usr/local/share/ca-certificates"
    cp /usr/local/share/ca-certificates/*.crt "$root/usr/local/share/ca-certificates/"
  fi
  rm -rf "$root/var/cache/apt/archives/"*.deb "$root/var/lib/apt/lists/"*
  tar -C "$root" -c . | docker import - "$base" >&2
fi

build() {  # image tag, folder
  if ! docker image inspect "$1" >/dev/null 2>&1; then
    docker build --network host --build-arg BASE="$base" -t "$1" "$here/$2" >&2
  fi
}
build "$prefix/python:3.11" python
build "$prefix/postgres:15" postgres
build "$prefix/redis:7" redis
build "$prefix/nginx:1.22" nginx

echo "PYTHON_IMAGE=$prefix/python:3.11"
echo "POSTGRES_IMAGE=$prefix/postgres:15"
echo "REDIS_IMAGE=$prefix/redis:7"
echo "NGINX_IMAGE=$prefix/nginx:1.22"
