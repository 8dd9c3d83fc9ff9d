#!/usr/bin/env bash
# Skiff's registry against the reference registry (Debian's docker-registry, distribution 2.8),
# in one run, on this host: after an untimed warm-up round, push then pull a 200 MB, 5-layer
# image with skopeo (fresh random layers each round, so nothing is skipped or mounted), 20
# concurrent pulls, peak RSS of each. The reference runs twice: without auth, and with Docker
# token auth as Skiff always has it.
#
#   npm run build && bench/registry.sh            # ROUNDS=3, PULLS=3 by default
#
# Skiff runs as in compose: the api (token endpoint) and the standalone registry process, on a
# fresh PostgreSQL database; skopeo goes through Docker token auth with a Skiff token. Needs
# skopeo, docker-registry, psql, openssl, Node 20.11 or newer.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
rounds="${ROUNDS:-3}"
# Pairs of pulls (Skiff, reference) after each round's pushes.
pulls="${PULLS:-3}"
concurrent="${CONCURRENT:-20}"
# LAYERS=1 LAYER_MB=2048 ROUNDS=1 measures a 2 GB layer: the RSS lines show what it adds.
layers="${LAYERS:-5}"
layer_mb="${LAYER_MB:-40}"
postgres_url="${BENCH_POSTGRES_URL:-postgres://skiff_test:skiff_test@127.0.0.1:5432/skiff_test}"
redis_url="${REDIS_URL:-redis://127.0.0.1:6399}"
token="bench-admin-token-0123456789abcdef"
work="$(mktemp -d /tmp/skiff-registry-bench.XXXXXX)"
database="skiff_bench_$(date +%s)_$$"
database_url="${postgres_url%/*}/${database}"
pids=()

cleanup() {
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  wait 2>/dev/null || true
  psql "$postgres_url" -qc "drop database if exists ${database} with (force)" >/dev/null 2>&1 || true
  rm -rf "$work"
}
trap cleanup EXIT

# $1 free ports, held open together so the kernel cannot hand out the same one twice.
free_ports() {
  node -e '
    const net = require("net");
    const servers = Array.from({ length: Number(process.argv[1]) }, () => net.createServer());
    Promise.all(servers.map((s) => new Promise((ok) => s.listen(0, "127.0.0.1", ok)))).then(() => {
      console.log(servers.map((s) => s.address().port).join(" "));
      for (const s of servers) s.close();
    });' "$1"
}
now() { date +%s.%N; }
elapsed() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", b - a }'; }
median() { tr ' ' '\n' | grep -v '^$' | sort -g | awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
peak_rss_mb() { awk '/VmHWM/ { printf "%.0f", $2 / 1024 }' "/proc/$1/status"; }
wait_http() {
  for _ in $(seq 1 100); do
    curl -s -o /dev/null "$1" && return 0
    sleep 0.1
  done
  echo "nothing answers at $1" >&2
  return 1
}

read -r api_port skiff_port ref_port token_port ref_token_port <<<"$(free_ports 5)"
psql "$postgres_url" -qc "create database ${database}" >/dev/null

env -i PATH="$PATH" DATABASE_URL="$database_url" REDIS_URL="$redis_url" PORT="$api_port" \
  HOST=127.0.0.1 SKIFF_REGISTRY_PORT=0 SKIFF_GATEWAY_PORT=0 SKIFF_LOCAL_AGENT=false \
  SKIFF_ADMIN_TOKEN="$token" SKIFF_DATA_DIR="$work/api" LOG_LEVEL=warn \
  node "$root/apps/api/dist/main.js" >"$work/api.log" 2>&1 &
pids+=($!)
wait_http "http://127.0.0.1:${api_port}/v1/health"

# MALLOC_TRIM_THRESHOLD_ as the registry's image sets it (see apps/registry/Dockerfile).
env -i PATH="$PATH" DATABASE_URL="$database_url" REDIS_URL="$redis_url" \
  MALLOC_TRIM_THRESHOLD_=268435456 SKIFF_REGISTRY_PORT="$skiff_port" HOST=127.0.0.1 \
  SKIFF_REGISTRY_DATA_DIR="$work/skiff" \
  SKIFF_API_PUBLIC_URL="http://127.0.0.1:${api_port}" LOG_LEVEL=warn \
  node "$root/apps/registry/dist/main.js" >"$work/skiff.log" 2>&1 &
pids+=($!)
declare -A pid=([skiff]=$!)

# The reference twice: as the issue runs it, without auth, and with Docker token auth like
# Skiff's (its tokens from bench/reference-token-server.mjs), each on its own storage.
reference_config() { # storage-dir port [auth yaml]
  cat <<YAML
version: 0.1
log: { level: error, accesslog: { disabled: true } }
storage:
  filesystem: { rootdirectory: $1 }
  delete: { enabled: true }
http: { addr: "127.0.0.1:$2" }
${3:-}
YAML
}
mkdir -p "$work/token"
node "$root/bench/reference-token-server.mjs" "$token_port" "$work/token" "$token" \
  >"$work/token.log" 2>&1 &
pids+=($!)
for _ in $(seq 1 100); do grep -q ready "$work/token.log" && break; sleep 0.1; done
reference_config "$work/ref" "$ref_port" >"$work/ref.yml"
reference_config "$work/ref_token" "$ref_token_port" "auth:
  token:
    realm: http://127.0.0.1:${token_port}/token
    service: reference-registry
    issuer: bench-token
    rootcertbundle: $work/token/token-cert.pem" >"$work/ref_token.yml"
for name in ref ref_token; do
  docker-registry serve "$work/${name}.yml" >"$work/${name}.log" 2>&1 &
  pids+=($!)
  pid[$name]=$!
done
# The registries, where each listens, and whether it wants credentials.
registries=(skiff ref ref_token)
declare -A port=([skiff]="$skiff_port" [ref]="$ref_port" [ref_token]="$ref_token_port")
declare -A authenticated=([skiff]=1 [ref]=0 [ref_token]=1)
for name in "${registries[@]}"; do wait_http "http://127.0.0.1:${port[$name]}/v2/"; done
rss_mb() { awk '/VmRSS/ { printf "%.0f", $2 / 1024 }' "/proc/$1/status"; }
declare -A idle_rss
for name in "${registries[@]}"; do idle_rss[$name]="$(rss_mb "${pid[$name]}")"; done

creds_for() { # registry-name src|dest
  [ "${authenticated[$1]}" = 1 ] && echo "--$2-creds bench:${token}"
  return 0
}
push() { # registry-name repository layout
  local started
  started="$(now)"
  # shellcheck disable=SC2046 # creds_for prints one option and its value, or nothing.
  skopeo copy -q --dest-tls-verify=false $(creds_for "$1" dest) "oci:$3:bench" \
    "docker://127.0.0.1:${port[$1]}/$2:v1" >/dev/null
  elapsed "$started" "$(now)"
}
pull() { # registry-name repository target-dir
  local started
  rm -rf "$3"
  started="$(now)"
  # shellcheck disable=SC2046
  skopeo copy -q --src-tls-verify=false $(creds_for "$1" src) \
    "docker://127.0.0.1:${port[$1]}/$2:v1" "dir:$3" >/dev/null
  elapsed "$started" "$(now)"
}

# One untimed push and pull on each first: a registry in service is warm, and Node compiles its
# hot paths on first use (Skiff's first 40 MB upload after a start costs twice the later ones)
# where Go's reference has nothing to warm. The same for all.
layout="$work/layout-warm-up"
node "$root/bench/make-oci-layout.mjs" "$layout" "$layers" "$layer_mb" bench
for name in "${registries[@]}"; do
  push "$name" bench/warm-up "$layout" >/dev/null
  pull "$name" bench/warm-up "$work/out" >/dev/null
done
rm -rf "$layout" "$work/out"

# Each push and each pull of Skiff is timed next to one of each reference, in turning order,
# and they make a group: the ratio within a group is free of the machine's drift over the run
# (its speed wanders by 5-10% here over minutes), so the figure reported is the median of the
# groups' ratios, with their range. PULLS groups of pulls follow each round's pushes: agents
# pull an image many times for one push.
declare -A times ratios
# a / b with $3 decimals (2 by default), "-" when b is 0.
ratio() { awk -v a="$1" -v b="$2" -v d="${3:-2}" 'BEGIN { if (b > 0) printf "%.*f", d, a / b; else printf "-" }'; }
median_of() { echo "${times[$1]}" | median; } # median_of <key of times>
record() { times[$1_$2]+="$3 "; } # record push|pull registry-name seconds
# The group's Skiff time over each reference's, appended to that reference's ratios.
record_ratios() { # push|pull
  local skiff="${last[skiff]}" name
  for name in ref ref_token; do
    ratios[$1_${name}]+="$(ratio "$skiff" "${last[$name]}" 3) "
  done
}
# The registries in turning order: group n starts with registries[n % 3].
order_of() {
  local n="$1" i
  for i in 0 1 2; do echo "${registries[$(((n + i) % 3))]}"; done
}
declare -A last
for round in $(seq 1 "$rounds"); do
  layout="$work/layout-${round}"
  node "$root/bench/make-oci-layout.mjs" "$layout" "$layers" "$layer_mb" bench
  # The 200 MB just written goes to disk now, not during whichever push runs first.
  sync
  for name in $(order_of "$round"); do
    last[$name]="$(push "$name" "bench/r${round}" "$layout")"
    record push "$name" "${last[$name]}"
  done
  record_ratios push
  # The 600 MB the registries just stored goes to disk now: the kernel's writeback would
  # otherwise share the cores with whichever pulls come first.
  sync
  # Even so, the first pull after the pushes ran 15-50% slower than the later ones, for either
  # registry: the first pairs' ratios were 1.16-1.52 when Skiff went first and 0.67-0.92 when
  # the reference did, the later pairs' 0.76-1.11. That is this machine, not a registry. One
  # untimed pull of each takes it out.
  for name in $(order_of "$round"); do pull "$name" "bench/r${round}" "$work/out" >/dev/null; done
  for group in $(seq 1 "$pulls"); do
    for name in $(order_of $((round + group))); do
      last[$name]="$(pull "$name" "bench/r${round}" "$work/out")"
      record pull "$name" "${last[$name]}"
    done
    record_ratios pull
  done
  rm -rf "$layout" "$work/out"
  echo "round ${round}: last pulls, s: skiff ${last[skiff]} reference ${last[ref]} reference+token ${last[ref_token]}" >&2
done

concurrent_pulls() { # registry-name -> "seconds failures"
  local started failures=0 jobs=()
  started="$(now)"
  for n in $(seq 1 "$concurrent"); do
    # shellcheck disable=SC2046
    skopeo copy -q --src-tls-verify=false $(creds_for "$1" src) \
      "docker://127.0.0.1:${port[$1]}/bench/r1:v1" "dir:$work/c-$1-$n" >/dev/null \
      2>"$work/c-$1-$n.err" &
    jobs+=($!)
  done
  for job in "${jobs[@]}"; do wait "$job" || failures=$((failures + 1)); done
  echo "$(elapsed "$started" "$(now)") ${failures}"
  rm -rf "$work"/c-"$1"-*
}
# Three times each, each registry first once, after a sync: the median of the three.
declare -A concurrent_failures
if [ "$concurrent" -gt 0 ]; then
  for turn in 0 1 2; do
    sync
    for name in $(order_of "$turn"); do
      read -r seconds failed <<<"$(concurrent_pulls "$name")"
      times[concurrent_${name}]+="${seconds} "
      concurrent_failures[$name]=$((${concurrent_failures[$name]:-0} + failed))
    done
  done
  for name in "${registries[@]}"; do
    echo "${concurrent} concurrent pulls, ${name}: ${times[concurrent_${name}]}s" >&2
  done
fi

# "median (lowest-highest)" of the values on standard input.
spread() {
  local sorted
  sorted="$(tr ' ' '\n' | grep -v '^$' | sort -g)"
  printf "%.2f (%.2f-%.2f)" "$(echo "$sorted" | median)" "$(echo "$sorted" | head -1)" \
    "$(echo "$sorted" | tail -1)"
}
row() { # title value-of-skiff value-of-ref value-of-ref_token
  printf "%-24s %-10s %-10s %-16s" "$1" "$2" "$3" "$4"
}
echo
echo "$((layers * layer_mb)) MB, ${layers} layers, skopeo: ${rounds} pushes and $((rounds * pulls)) pulls each, seconds (median)"
echo "$(row "" skiff reference reference+token) ratio skiff/reference | skiff/reference+token: median of groups (range)"
for op in push pull; do
  echo "$(row "$op" "$(median_of "${op}_skiff")" "$(median_of "${op}_ref")" "$(median_of "${op}_ref_token")") $(echo "${ratios[${op}_ref]}" | spread) | $(echo "${ratios[${op}_ref_token]}" | spread)"
done
if [ "$concurrent" -gt 0 ]; then
  skiff_s="$(median_of concurrent_skiff)" ref_s="$(median_of concurrent_ref)"
  ref_token_s="$(median_of concurrent_ref_token)"
  echo "$(row "${concurrent} concurrent pulls (x3)" "$skiff_s" "$ref_s" "$ref_token_s") $(ratio "$skiff_s" "$ref_s") | $(ratio "$skiff_s" "$ref_token_s")   failures: skiff ${concurrent_failures[skiff]}, reference ${concurrent_failures[ref]}, reference+token ${concurrent_failures[ref_token]}"
fi
echo "$(row "RSS at start (MB)" "${idle_rss[skiff]}" "${idle_rss[ref]}" "${idle_rss[ref_token]}")"
echo "$(row "peak RSS (MB)" "$(peak_rss_mb "${pid[skiff]}")" "$(peak_rss_mb "${pid[ref]}")" "$(peak_rss_mb "${pid[ref_token]}")")"
