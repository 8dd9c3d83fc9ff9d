#!/usr/bin/env bash
# Runs Skiff's whole test suite: lint, types, unit, integration (real PostgreSQL, Redis and
# Docker engine; the dashboard in chromium), embedded (`npm start` on PGlite and its own
# redis-server, end to end) and the compose test. On a fresh Debian machine, as
# root, it first installs and starts what is missing (docker.io, docker-compose, postgresql,
# redis-server, mmdebstrap, busybox-static, chromium);
# whatever is already there is used as it is. DATABASE_URL / REDIS_URL, when set, are used
# instead of the local servers.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/lib/services.sh

step "system packages"
ensure_packages
step "docker engine"
ensure_dockerd
step "postgresql"
if [ -z "${DATABASE_URL:-}" ]; then export DATABASE_URL="$(ensure_postgres)"; fi
step "redis"
if [ -z "${REDIS_URL:-}" ]; then export REDIS_URL="$(ensure_redis)"; fi

step "npm ci, build"
npm ci --no-audit --no-fund --loglevel=error
npm run build

step "images: local stand-ins for public base images, the tests' task images, the function runtimes"
./scripts/build-base-images.sh
./scripts/build-test-images.sh
./scripts/build-runtime-images.sh

# The compose test's images build in the background meanwhile: its `up --build` then finds them.
mkdir -p test-artifacts
if docker compose version >/dev/null 2>&1; then compose=(docker compose); else compose=(docker-compose); fi
"${compose[@]}" build >test-artifacts/compose-build.log 2>&1 &
compose_build=$!

step "lint, typecheck"
npm run lint
npm run typecheck

status=0
for project in unit integration startup embedded compose; do
  if [ "$project" = compose ] && ! wait "$compose_build"; then
    echo "compose build failed: test-artifacts/compose-build.log" >&2
  fi
  step "tests: $project"
  npx vitest run --project "$project" --reporter=default --reporter=json \
    --outputFile.json="test-artifacts/vitest-$project.json" || status=1
done

# One closing line over all five projects, in the plain form CI reads.
node scripts/lib/summarise-tests.mjs test-artifacts/vitest-{unit,integration,startup,embedded,compose}.json
exit "$status"
