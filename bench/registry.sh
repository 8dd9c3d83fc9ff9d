#!/usr/bin/env bash
# Skiff's registry against the reference registry (Debian's docker-registry, distribution 2.8),
# in one run, on this host: after an untimed warm-up round, push then pull a 200 MB, 5-layer
# image with skopeo (fresh random layers each round, so nothing is skipped or mounted), 20
# concurrent pulls, peak RSS of each.
#
#   npm run build && bench/registry.sh            # ROUNDS=3, PULLS=3 by default
#
# Skiff runs as in compose: the api (token endpoint) and the standalone registry process, on a
# fresh PostgreSQL database; skopeo goes through Docker token auth with a Skiff token. The
# reference registry runs without auth. Needs skopeo, docker-registry, psql, Node 20.
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

# Three free ports, held open together so the kernel cannot hand out the same one twice.
free_ports() {
  node -e '
    const net = require("net");
    const servers = [0, 1, 2].map(() => net.createServer());
    Promise.all(servers.map((s) => new Promise((ok) => s.listen(0, "127.0.0.1", ok)))).then(() => {
      console.log(servers.map((s) => s.address().port).join(" "));
      for (const s of servers) s.close();
    });'
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

read -r api_port skiff_port ref_port <<<"$(free_ports)"
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
skiff_pid=$!
pids+=("$skiff_pid")

cat >"$work/ref.yml" <<YAML
version: 0.1
log: { level: error, accesslog: { disabled: true } }
storage:
  filesystem: { rootdirectory: ${work}/ref }
  delete: { enabled: true }
http: { addr: "127.0.0.1:${ref_port}" }
YAML
docker-registry serve "$work/ref.yml" >"$work/ref.log" 2>&1 &
ref_pid=$!
pids+=("$ref_pid")
wait_http "http://127.0.0.1:${skiff_port}/v2/"
wait_http "http://127.0.0.1:${ref_port}/v2/"
rss_mb() { awk '/VmRSS/ { printf "%.0f", $2 / 1024 }' "/proc/$1/status"; }
skiff_idle_rss="$(rss_mb "$skiff_pid")"
ref_idle_rss="$(rss_mb "$ref_pid")"

skiff_push=()
skiff_pull=()
ref_push=()
ref_pull=()

push() { # registry-name port repository layout
  local started creds=()
  [ "$1" = skiff ] && creds=(--dest-creds "bench:${token}")
  started="$(now)"
  skopeo copy -q --dest-tls-verify=false "${creds[@]}" "oci:$4:bench" \
    "docker://127.0.0.1:$2/$3:v1" >/dev/null
  elapsed "$started" "$(now)"
}
pull() { # registry-name port repository target-dir
  local started creds=()
  [ "$1" = skiff ] && creds=(--src-creds "bench:${token}")
  rm -rf "$4"
  started="$(now)"
  skopeo copy -q --src-tls-verify=false "${creds[@]}" "docker://127.0.0.1:$2/$3:v1" "dir:$4" \
    >/dev/null
  elapsed "$started" "$(now)"
}

# One untimed push and pull on each first: a registry in service is warm, and Node compiles its
# hot paths on first use (Skiff's first 40 MB upload after a start costs twice the later ones)
# where Go's reference has nothing to warm. The same for both.
layout="$work/layout-warm-up"
node "$root/bench/make-oci-layout.mjs" "$layout" "$layers" "$layer_mb" bench
push skiff "$skiff_port" bench/warm-up "$layout" >/dev/null
pull skiff "$skiff_port" bench/warm-up "$work/out" >/dev/null
push ref "$ref_port" bench/warm-up "$layout" >/dev/null
pull ref "$ref_port" bench/warm-up "$work/out" >/dev/null
rm -rf "$layout" "$work/out"

# Each push and each pull of Skiff is timed next to one of the reference, in alternating order,
# and the two make a pair: the ratio of a pair is free of the machine's drift over the run (its
# speed wanders by 5-10% here over minutes), so the figure reported is the median of the pairs'
# ratios, with their range. PULLS pairs of pulls follow each round's pushes: agents pull an
# image many times for one push.
push_ratios=()
pull_ratios=()
pair_ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.3f", a / b }'; }
# "skiff ref" for even n, "ref skiff" for odd: who goes first takes turns.
order_of() { if [ $(($1 % 2)) -eq 0 ]; then echo "skiff ref"; else echo "ref skiff"; fi; }
port_of() { if [ "$1" = skiff ]; then echo "$skiff_port"; else echo "$ref_port"; fi; }
record() { local -n list="$1"; list+=("$2"); } # record <array name> <value>
for round in $(seq 1 "$rounds"); do
  layout="$work/layout-${round}"
  node "$root/bench/make-oci-layout.mjs" "$layout" "$layers" "$layer_mb" bench
  # The 200 MB just written goes to disk now, not during whichever push runs first.
  sync
  # Alternate who goes first, so disk caches and warm-up favour neither.
  for who in $(order_of $((round + 1))); do
    record "${who}_push" "$(push "$who" "$(port_of "$who")" "bench/r${round}" "$layout")"
  done
  push_ratios+=("$(pair_ratio "${skiff_push[-1]}" "${ref_push[-1]}")")
  # The 400 MB both registries just stored goes to disk now: the kernel's writeback would
  # otherwise share the cores with whichever pulls come first.
  sync
  # Even so, the first pull after the pushes ran 15-50% slower than the later ones, for either
  # registry: the first pairs' ratios were 1.16-1.52 when Skiff went first and 0.67-0.92 when
  # the reference did, the later pairs' 0.76-1.11. That is this machine, not a registry, and an
  # odd number of rounds puts it on Skiff once more. One untimed pull of each takes it out.
  for who in $(order_of "$round"); do
    pull "$who" "$(port_of "$who")" "bench/r${round}" "$work/out" >/dev/null
  done
  for pair in $(seq 1 "$pulls"); do
    for who in $(order_of $((round + pair))); do
      record "${who}_pull" "$(pull "$who" "$(port_of "$who")" "bench/r${round}" "$work/out")"
    done
    pull_ratios+=("$(pair_ratio "${skiff_pull[-1]}" "${ref_pull[-1]}")")
  done
  rm -rf "$layout" "$work/out"
  echo "round ${round}: push skiff ${skiff_push[-1]}s reference ${ref_push[-1]}s | pull ratios ${pull_ratios[*]: -$pulls}" >&2
done

concurrent_pulls() { # registry-name port -> "seconds failures"
  local started failures=0 creds=() jobs=()
  [ "$1" = skiff ] && creds=(--src-creds "bench:${token}")
  started="$(now)"
  for n in $(seq 1 "$concurrent"); do
    skopeo copy -q --src-tls-verify=false "${creds[@]}" "docker://127.0.0.1:$2/bench/r1:v1" \
      "dir:$work/c-$1-$n" >/dev/null 2>"$work/c-$1-$n.err" &
    jobs+=($!)
  done
  for job in "${jobs[@]}"; do wait "$job" || failures=$((failures + 1)); done
  echo "$(elapsed "$started" "$(now)") ${failures}"
  rm -rf "$work"/c-"$1"-*
}
# Twice each, in the order Skiff, reference, reference, Skiff, after a sync: the mean of the two.
mean_of_two() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", (a + b) / 2 }'; }
skiff_conc_s=0 skiff_conc_fail=0 ref_conc_s=0 ref_conc_fail=0
if [ "$concurrent" -gt 0 ]; then
  sync
  read -r s1 f1 <<<"$(concurrent_pulls skiff "$skiff_port")"
  read -r r1 g1 <<<"$(concurrent_pulls ref "$ref_port")"
  read -r r2 g2 <<<"$(concurrent_pulls ref "$ref_port")"
  read -r s2 f2 <<<"$(concurrent_pulls skiff "$skiff_port")"
  skiff_conc_s="$(mean_of_two "$s1" "$s2")"
  ref_conc_s="$(mean_of_two "$r1" "$r2")"
  skiff_conc_fail=$((f1 + f2))
  ref_conc_fail=$((g1 + g2))
fi

sp="$(echo "${skiff_push[*]}" | median)"
sl="$(echo "${skiff_pull[*]}" | median)"
rp="$(echo "${ref_push[*]}" | median)"
rl="$(echo "${ref_pull[*]}" | median)"
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.2f", a / b; else printf "-" }'; }
# "median (lowest-highest)" of the values on standard input.
spread() {
  local sorted
  sorted="$(tr ' ' '\n' | grep -v '^$' | sort -g)"
  printf "%.2f (%.2f-%.2f)" "$(echo "$sorted" | median)" "$(echo "$sorted" | head -1)" \
    "$(echo "$sorted" | tail -1)"
}
cat <<REPORT

$((layers * layer_mb)) MB, ${layers} layers, skopeo: ${rounds} pushes and $((rounds * pulls)) pulls each, seconds (median)
                      skiff   reference   ratio skiff/reference: median of pairs (range)
push                  ${sp}    ${rp}        $(echo "${push_ratios[*]}" | spread)
pull                  ${sl}    ${rl}        $(echo "${pull_ratios[*]}" | spread)
${concurrent} concurrent pulls (x2) ${skiff_conc_s}    ${ref_conc_s}        $(ratio "$skiff_conc_s" "$ref_conc_s")   failures: skiff ${skiff_conc_fail}, reference ${ref_conc_fail}
RSS at start (MB)     ${skiff_idle_rss}      ${ref_idle_rss}
peak RSS (MB)         $(peak_rss_mb "$skiff_pid")      $(peak_rss_mb "$ref_pid")
REPORT
