#!/usr/bin/env bash
# Starts the built daemon on a free port with a temporary config over the
# sample articles, checks each feed with ../shared/tools/check-feed.py
# (Python's feedparser) and ../shared/tools/newsboat-check.sh (newsboat),
# then stops it with SIGTERM and expects exit 0.
set -euo pipefail
shared=${1:?usage: e2e.sh SHARED_DIR}
repo=$(pwd)
bin="$repo/target/debug/syndic"
[ -x "$bin" ] || cargo build
if ! python3 -c 'import feedparser' 2>/dev/null; then
  python3 -m pip install --quiet --disable-pip-version-check feedparser
fi
work=$(mktemp -d)
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
cat > "$work/feeds.toml" <<TOML
[daemon]
listen = "127.0.0.1:$port"
store = "store"
public_url = "http://127.0.0.1:$port"
admin_listen = "127.0.0.1:0"

[[source]]
id = "articles"
path = "$repo/articles"
tags = ["local"]

[[source]]
id = "sample"
path = "$shared/samples/articles"

[[feed]]
name = "all"
title = "Everything"
include = ["*"]
TOML
"$bin" --config "$work/feeds.toml" check
"$bin" --config "$work/feeds.toml" serve >"$work/log" 2>&1 &
pid=$!
trap 'kill $pid 2>/dev/null || true; cat "$work/log"' ERR
for _ in $(seq 1 100); do
  if curl -fsS "http://127.0.0.1:$port/feeds/all.json" 2>/dev/null | grep -q '"title": "SYRIAN'; then break; fi
  sleep 0.2
done
items=$(find "$repo/articles" "$shared/samples/articles" -name '*.md' -o -name '*.txt' | wc -l)
python3 "$shared/tools/check-feed.py" --min-items "$items" \
  "http://127.0.0.1:$port/feeds/all.rss" \
  "http://127.0.0.1:$port/feeds/all.atom"
# feedparser 6.0.x (the PyPI release) has no JSON Feed reader: check it here.
python3 .ci/check-jsonfeed.py "http://127.0.0.1:$port/feeds/all.json" --min-items "$items"
# The shipped and sample articles (first seen together, most undated) make
# feeds without a single W3C validator message.
bash "$shared/tools/w3c-validate.sh" "http://127.0.0.1:$port/feeds/all.rss" "http://127.0.0.1:$port/feeds/all.atom"
# feedparser reads back what was ingested, the same in every format.
python3 .ci/compare-ingested.py "http://127.0.0.1:$port" "$repo/articles" "$shared/samples/articles"
# newsboat subscribes to each RSS and Atom feed and lists its items. One
# run per feed: newsboat keys its cache by guid alone, and the RSS and Atom
# documents rightly carry the same ids, so in one shared cache the second
# feed's items would count as the first's.
for ext in rss atom; do
  bash "$shared/tools/newsboat-check.sh" --min-items "$items" "http://127.0.0.1:$port/feeds/all.$ext"
done
# The browser view: the stylesheet is served and transforms both formats
# (when xsltproc is there).
curl -fsS "http://127.0.0.1:$port/feeds/feed.xsl" -o "$work/feed.xsl"
if command -v xsltproc >/dev/null; then
  for ext in rss atom; do
    curl -fsS "http://127.0.0.1:$port/feeds/all.$ext" -o "$work/all.$ext"
    xsltproc "$work/feed.xsl" "$work/all.$ext" | grep -q "<li>" \
      || { echo "feed.xsl does not render all.$ext"; exit 1; }
  done
fi
kill -TERM $pid
status=0
wait $pid || status=$?
if [ $status -ne 0 ]; then cat "$work/log"; echo "daemon exited $status after SIGTERM"; exit 1; fi
grep -q "stopped" "$work/log" || { cat "$work/log"; echo "no clean stop in the log"; exit 1; }
echo "end to end: 3 feeds valid for feedparser, RSS and Atom listed by newsboat, clean stop"
rm -rf "$work"
