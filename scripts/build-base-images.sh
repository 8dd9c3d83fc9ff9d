#!/usr/bin/env bash
# Builds local stand-ins for the public base images Skiff's Dockerfiles and compose file use
# (debian:bookworm-slim, node:20-bookworm-slim, postgres:15-bookworm, redis:7-bookworm), for
# hosts that cannot reach a public container registry. They are made from the Debian mirror
# (mmdebstrap) and this host's Node 20, and tagged with the public names so the repo's files work
# unchanged on both kinds of host. An image that already exists is left alone.
#
# The host's CA bundle is baked into the node image (NODE_EXTRA_CA_CERTS), so npm works inside
# builds on hosts whose traffic to the npm registry passes a TLS-inspecting proxy.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

have() { docker image inspect "$1" >/dev/null 2>&1; }
log() { printf '[base-images] %s\n' "$*" >&2; }

if ! have debian:bookworm-slim; then
  log "debian:bookworm-slim from the Debian mirror (mmdebstrap)"
  command -v mmdebstrap >/dev/null || apt-get install -y -qq mmdebstrap >/dev/null
  mmdebstrap --quiet --variant=minbase --include=ca-certificates bookworm "$work/rootfs.tar"
  docker import --change 'CMD ["bash"]' --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
    "$work/rootfs.tar" debian:bookworm-slim >/dev/null
  rm -f "$work/rootfs.tar"
fi

if ! have node:20-bookworm-slim; then
  node_bin="$(command -v node)"
  case "$("$node_bin" --version)" in v20.*) ;; *) log "this host's node is not Node 20"; exit 1 ;; esac
  log "node:20-bookworm-slim from this host's $node_bin ($("$node_bin" --version))"
  ctx="$work/node"
  mkdir -p "$ctx"
  cp "$here/base-images/node/Dockerfile" "$ctx/"
  cp "$node_bin" "$ctx/node"
  cp -r "$(dirname "$(readlink -f "$(command -v npm)")")/.." "$ctx/npm"
  cp /etc/ssl/certs/ca-certificates.crt "$ctx/host-ca.crt"
  docker build -q -t node:20-bookworm-slim "$ctx" >/dev/null
fi

if ! have postgres:15-bookworm; then
  log "postgres:15-bookworm from Debian's postgresql-15"
  docker build -q -t postgres:15-bookworm "$here/base-images/postgres" >/dev/null
fi

if ! have redis:7-bookworm; then
  log "redis:7-bookworm from Debian's redis-server"
  docker build -q -t redis:7-bookworm "$here/base-images/redis" >/dev/null
fi
log "ready"
