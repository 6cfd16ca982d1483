#!/usr/bin/env bash
# Serving benchmark (not a test): requests/s and p99 latency of
# /feeds/all.rss (50 items) from syndic as a 200, a 200 with gzip and a
# 304, against nginx serving the very same bytes from files (gzip_static
# for the gzip case, its own ETag for the 304) in the same run.
#
# Usage: benches/serve.sh [DURATION] [CONNECTIONS] [CORES] [ROUNDS]
#   (defaults: 10s, 32, nproc, 1). Equal cores: syndic gets CORES
#   serving threads (TOKIO_WORKER_THREADS) and nginx CORES worker processes;
#   wrk uses 2 threads. With ROUNDS > 1 every case runs syndic and nginx
#   alternately ROUNDS times and the table gives the median of each.
# Installs wrk and nginx (Debian packages) when missing. Prints a Markdown
# table for BENCHMARKS.md. Each case runs syndic then nginx, alternating,
# so both see the same machine load.
set -euo pipefail
cd "$(dirname "$0")/.."
duration=${1:-10s}
conns=${2:-32}
cores=${3:-$(nproc)}
rounds=${4:-1}
threads=2

if ! command -v wrk >/dev/null || ! command -v nginx >/dev/null; then
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq wrk nginx >/dev/null
fi
cargo build --release --quiet

work=$(mktemp -d); chmod 755 "$work"
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
sport=$(free_port); nport=$(free_port)

# 60 articles: the feed holds its limit of 50.
mkdir -p "$work/articles"
for i in $(seq 1 60); do
  day=$(printf '%02d' $(( (i % 28) + 1 )))
  cat > "$work/articles/post-$i.md" <<MD
+++
title = "Benchmark post number $i"
date = 2026-0$(( (i % 9) + 1 ))-${day}T10:00:00Z
author = "Bench"
+++
This is post **$i**. It has a [link](https://example.org/$i) and a second paragraph
so the item looks like a real one, with some text to compress.

Another paragraph of text for post $i, to give the feed a realistic size.
MD
done
cat > "$work/feeds.toml" <<TOML
[daemon]
listen = "127.0.0.1:$sport"
store = "store"
[defaults]
refresh = "1h"
[[source]]
id = "posts"
path = "articles"
[[feed]]
name = "all"
title = "Everything"
include = ["*"]
limit = 50
TOML
TOKIO_WORKER_THREADS=$cores ./target/release/syndic --config "$work/feeds.toml" serve >"$work/syndic.log" 2>&1 &
spid=$!
trap 'kill $spid 2>/dev/null || true; [ -f "$work/nginx.pid" ] && kill $(cat "$work/nginx.pid") 2>/dev/null || true; rm -rf "$work"' EXIT
for _ in $(seq 1 100); do
  curl -fsS "http://127.0.0.1:$sport/feeds/all.json" 2>/dev/null | grep -q "post number 60" && break
  sleep 0.1
done

# The same bytes for nginx: the identity body and syndic's own gzip body.
mkdir -p "$work/www/feeds"
curl -fsS "http://127.0.0.1:$sport/feeds/all.rss" -o "$work/www/feeds/all.rss"
curl -fsS -H 'Accept-Encoding: gzip' "http://127.0.0.1:$sport/feeds/all.rss" -o "$work/www/feeds/all.rss.gz"
items=$(grep -o '<item>' "$work/www/feeds/all.rss" | wc -l)
cat > "$work/nginx.conf" <<NGINX
worker_processes $cores;
pid $work/nginx.pid;
error_log $work/nginx-error.log;
events { worker_connections 1024; }
http {
  access_log off;
  sendfile on;
  tcp_nopush on;
  keepalive_requests 1000000;
  types { application/rss+xml rss; }
  server {
    listen 127.0.0.1:$nport;
    root $work/www;
    gzip_static on;
    gzip_vary on;
    location /feeds/ {
      add_header Cache-Control "public, max-age=600";
      add_header Access-Control-Allow-Origin "*";
      add_header Access-Control-Expose-Headers "ETag";
    }
  }
}
NGINX
nginx -c "$work/nginx.conf"
sleep 0.5

setag=$(curl -fsSI "http://127.0.0.1:$sport/feeds/all.rss" | tr -d '\r' | awk -F': ' 'tolower($1)=="etag"{print $2}')
netag=$(curl -fsSI "http://127.0.0.1:$nport/feeds/all.rss" | tr -d '\r' | awk -F': ' 'tolower($1)=="etag"{print $2}')
# Sanity: both answer each case as intended.
check() { # url header expected-status
  local code
  code=$(curl -s -o /dev/null -w '%{http_code}' -H "$2" "$1")
  [ "$code" = "$3" ] || { echo "expected $3 from $1 with '$2', got $code"; exit 1; }
}
check "http://127.0.0.1:$sport/feeds/all.rss" "If-None-Match: $setag" 304
check "http://127.0.0.1:$nport/feeds/all.rss" "If-None-Match: $netag" 304
curl -fsS -H 'Accept-Encoding: gzip' -D - -o /dev/null "http://127.0.0.1:$nport/feeds/all.rss" | grep -qi 'content-encoding: gzip'

run() { # url header -> "rps p99"
  local out
  if [ -n "$2" ]; then
    out=$(wrk -t$threads -c$conns -d"$duration" --latency -H "$2" "$1")
  else
    out=$(wrk -t$threads -c$conns -d"$duration" --latency "$1")
  fi
  local rps p99
  rps=$(echo "$out" | awk '/Requests\/sec/{print $2}')
  p99=$(echo "$out" | awk '$1=="99%"{print $2}')
  echo "$rps $p99"
}

echo "syndic $(./target/release/syndic --version | awk '{print $2}') ($cores serving threads), nginx $(nginx -v 2>&1 | sed 's#.*/##') ($cores workers), wrk -t$threads -c$conns -d$duration, $rounds round(s), $(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg), body $(stat -c %s "$work/www/feeds/all.rss") bytes identity / $(stat -c %s "$work/www/feeds/all.rss.gz") gzip, $items items"
echo
echo "| case | syndic req/s | nginx req/s | ratio | syndic p99 | nginx p99 |"
echo "|---|---:|---:|---:|---:|---:|"
for case in identity gzip 304; do
  case $case in
    identity) sh=""; nh="" ;;
    gzip) sh="Accept-Encoding: gzip"; nh="Accept-Encoding: gzip" ;;
    304) sh="If-None-Match: $setag"; nh="If-None-Match: $netag" ;;
  esac
  s_all=(); n_all=()
  for _ in $(seq 1 "$rounds"); do
    s_all+=("$(run "http://127.0.0.1:$sport/feeds/all.rss" "$sh")")
    n_all+=("$(run "http://127.0.0.1:$nport/feeds/all.rss" "$nh")")
  done
  median() { printf '%s\n' "$@" | sort -g -k1,1 | awk '{a[NR]=$0} END{print a[int((NR+1)/2)]}'; }
  read -r s_rps s_p99 < <(median "${s_all[@]}")
  read -r n_rps n_p99 < <(median "${n_all[@]}")
  ratio=$(python3 -c "print(f'{$s_rps/$n_rps:.2f}x')")
  echo "| 200 $case | $s_rps | $n_rps | $ratio | $s_p99 | $n_p99 |" | sed 's/| 200 304 |/| 304 |/'
done
