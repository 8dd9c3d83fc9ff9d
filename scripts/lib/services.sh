# Helpers for scripts/test.sh: install and start the servers the tests need, idempotently.

step() { printf '\n== %s (%ss)\n' "$*" "$SECONDS"; }

have() { command -v "$1" >/dev/null 2>&1; }

ensure_packages() {
  local missing=()
  have dockerd || missing+=(docker.io)
  have docker-compose || missing+=(docker-compose)
  have pg_ctlcluster || missing+=(postgresql)
  have redis-server || missing+=(redis-server)
  have mmdebstrap || missing+=(mmdebstrap)
  [ -x /bin/busybox ] || missing+=(busybox-static)
  # The dashboard's browser tests drive Debian's chromium through playwright-core (no downloads).
  [ -x /usr/bin/chromium ] || missing+=(chromium)
  # Registry tests push and pull with skopeo; the benchmark runs the reference registry.
  have skopeo || missing+=(skopeo)
  have docker-registry || missing+=(docker-registry)
  if [ ${#missing[@]} -gt 0 ]; then
    echo "installing ${missing[*]}"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  fi
}

ensure_dockerd() {
  if docker info >/dev/null 2>&1; then return; fi
  if have systemctl && systemctl start docker 2>/dev/null && docker info >/dev/null 2>&1; then return; fi
  echo "starting dockerd"
  nohup dockerd >/var/log/skiff-test-dockerd.log 2>&1 &
  for _ in $(seq 1 60); do
    docker info >/dev/null 2>&1 && return
    sleep 0.5
  done
  echo "dockerd did not start; see /var/log/skiff-test-dockerd.log" >&2
  tail -20 /var/log/skiff-test-dockerd.log >&2
  exit 1
}

# Prints a URL of a role that may create databases, on Debian's local cluster.
ensure_postgres() {
  local version cluster
  version="$(ls /usr/lib/postgresql | sort -n | tail -1)"
  if ! pg_lsclusters -h | grep -q .; then pg_createcluster "$version" main >&2; fi
  cluster="$(pg_lsclusters -h | head -1)"
  set -- $cluster
  # Everything but the URL goes to stderr: the caller captures stdout (pg_ctlcluster, for one,
  # prints "Removed stale pid file." after an unclean stop).
  [ "$4" = online ] || pg_ctlcluster "$1" "$2" start >&2
  for _ in $(seq 1 30); do
    su postgres -c "psql -p $3 -qAtc 'select 1'" >/dev/null 2>&1 && break
    sleep 0.5
  done
  su postgres -c "psql -p $3 -qAtc \"do \\\$\\\$ begin if not exists (select from pg_roles where rolname = 'skiff_test') then create role skiff_test login createdb password 'skiff_test'; end if; end \\\$\\\$\"" >/dev/null
  su postgres -c "psql -p $3 -qAtc \"select 1 from pg_database where datname = 'skiff_test'\" | grep -q 1 || createdb -p $3 -O skiff_test skiff_test"
  echo "postgres://skiff_test:skiff_test@127.0.0.1:$3/skiff_test"
}

# Prints the URL of a redis-server kept for the tests (its own port, no persistence).
ensure_redis() {
  local port=6399
  if ! redis-cli -p "$port" ping >/dev/null 2>&1; then
    redis-server --port "$port" --bind 127.0.0.1 --save "" --appendonly no --daemonize yes >&2
    for _ in $(seq 1 30); do
      redis-cli -p "$port" ping >/dev/null 2>&1 && break
      sleep 0.2
    done
  fi
  echo "redis://127.0.0.1:$port"
}
