#!/usr/bin/env bash
# Builds the small images the tests run as tasks, without any public registry:
#   skiff-test/busybox:latest  busybox-static from Debian, docker-imported (2 MB): sh, httpd, nc, sleep
set -euo pipefail
if docker image inspect skiff-test/busybox:latest >/dev/null 2>&1; then exit 0; fi
command -v busybox >/dev/null || { apt-get update -qq && apt-get install -y -qq busybox-static >/dev/null; }
root="$(mktemp -d)"
trap 'rm -rf "$root"' EXIT
mkdir -p "$root/bin" "$root/tmp" "$root/www" "$root/etc"
cp "$(command -v busybox)" "$root/bin/busybox"
for applet in sh ls cat echo sleep httpd nc wget env hostname kill ps true false id mkdir rm; do
  ln -s busybox "$root/bin/$applet"
done
echo 'root:x:0:0:root:/:/bin/sh' > "$root/etc/passwd"
echo 'ok' > "$root/www/index.html"
tar -C "$root" -c . | docker import --change 'ENV PATH=/bin' --change 'CMD ["sh"]' - skiff-test/busybox:latest >/dev/null
echo "built skiff-test/busybox:latest"
