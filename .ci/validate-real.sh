#!/usr/bin/env bash
# Every feed syndic serves validates, whatever comes in: the real feeds named
# in .ci/real-feeds.txt (paths under SHARED_DIR/corpus) are served from a mock
# host on 127.0.0.1, the built daemon ingests each as its own source and
# publishes it as its own feed plus one feed of all of them, and every RSS and
# Atom output must pass SHARED_DIR/tools/w3c-validate.sh (the W3C Feed
# Validation Service's checker) with no message at all, every JSON Feed
# output .ci/check-jsonfeed.py.
#
# Usage: validate-real.sh SHARED_DIR   (from the repository root)
set -euo pipefail
shared=${1:?usage: validate-real.sh SHARED_DIR}
repo=$(pwd)
bin="$repo/target/debug/syndic"
[ -x "$bin" ] || cargo build
list="$repo/.ci/real-feeds.txt"
work=$(mktemp -d)
mkdir "$work/www"
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
web=$(free_port)
port=$(free_port)

cat > "$work/feeds.toml" <<TOML
[daemon]
listen = "127.0.0.1:$port"
store = "store"
public_url = "http://127.0.0.1:$port"

[defaults]
refresh = "24h"
min_interval = "24h"
allow_internal = true

[[feed]]
name = "all"
title = "Every real feed"
description = "All the real feeds of .ci/real-feeds.txt in one"
include = ["*"]
limit = 1000
TOML

# Copied at run time (nothing from the corpus is kept in the repository);
# source and feed r01 is the first line of the list.
names=()
n=0
while read -r path; do
  case "$path" in '' | '#'*) continue ;; esac
  n=$((n + 1))
  id=$(printf 'r%02d' "$n")
  file="$id.${path##*.}"
  cp "$shared/corpus/$path" "$work/www/$file"
  names+=("$id")
  echo "$id $path" >> "$work/map"
  cat >> "$work/feeds.toml" <<TOML

[[source]]
id = "$id"
url = "http://127.0.0.1:$web/$file"

[[feed]]
name = "$id"
title = "$id"
description = "$path"
include = ["$id"]
TOML
done < "$list"
names+=("all")

python3 -m http.server --bind 127.0.0.1 --directory "$work/www" "$web" >"$work/web.log" 2>&1 &
web_pid=$!
daemon_pid=""
cleanup() {
  [ -n "$daemon_pid" ] && kill "$daemon_pid" 2>/dev/null || true
  kill "$web_pid" 2>/dev/null || true
}
trap cleanup EXIT
for _ in $(seq 1 50); do
  curl -fsS -o /dev/null "http://127.0.0.1:$web/" 2>/dev/null && break
  sleep 0.1
done

"$bin" --config "$work/feeds.toml" check
# Every source is read once before serving; a source that fails fails here.
"$bin" --config "$work/feeds.toml" fetch >"$work/fetch.log" 2>&1 || { cat "$work/fetch.log"; echo "fetching the real feeds failed"; exit 1; }
"$bin" --config "$work/feeds.toml" serve >"$work/log" 2>&1 &
daemon_pid=$!
base="http://127.0.0.1:$port/feeds"
for _ in $(seq 1 100); do
  curl -fsS -o /dev/null "$base/all.json" 2>/dev/null && break
  sleep 0.2
done

failed=0
checked=0
for name in "${names[@]}"; do
  for ext in rss atom; do
    checked=$((checked + 1))
    if ! out=$(bash "$shared/tools/w3c-validate.sh" "$base/$name.$ext" 2>&1); then
      failed=$((failed + 1))
      echo "$out"
      grep "^$name " "$work/map" || true
    fi
  done
  python3 "$repo/.ci/check-jsonfeed.py" "$base/$name.json" --min-items 1 >"$work/json.out" || { failed=$((failed + 1)); cat "$work/json.out"; }
  checked=$((checked + 1))
done
items=$(curl -fsS "$base/all.json" | python3 -c 'import json,sys; print(len(json.load(sys.stdin)["items"]))')
if [ "$failed" -ne 0 ]; then
  echo "real feeds: $failed of $checked outputs not clean ($n sources, $items items in all)"
  exit 1
fi
echo "real feeds: $n sources republished as $((n + 1)) feeds ($items items in all): $checked outputs, every RSS and Atom one without a W3C validator message"
rm -rf "$work"
