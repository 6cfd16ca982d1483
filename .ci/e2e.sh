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
admin_port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
cat > "$work/feeds.toml" <<TOML
[daemon]
listen = "127.0.0.1:$port"
store = "store"
public_url = "http://127.0.0.1:$port"
admin_listen = "127.0.0.1:$admin_port"

[[source]]
id = "articles"
path = "$repo/articles"
tags = ["local"]

[[source]]
id = "sample"
path = "$shared/samples/articles"

[[source]]
id = "show"
path = "$work/show"

[[feed]]
name = "all"
title = "Everything"
include = ["articles", "sample"]

[[feed]]
name = "show"
title = "The syndic show"
description = "A podcast made of article files"
include = ["show"]
podcast = true
image = "https://example.org/cover.png"
language = "en"
category = "Technology"
owner_email = "podcast@example.org"
TOML
# A podcast: two episodes with an audio file beside them, one note without.
mkdir -p "$work/show/audio"
head -c 20000 /dev/urandom > "$work/show/audio/ep1.mp3"
head -c 30000 /dev/urandom > "$work/show/audio/ep2.mp3"
for n in 1 2; do
  printf '+++\ntitle = "Episode %s"\ndate = 2026-11-0%sT10:00:00Z\nenclosure = "audio/ep%s.mp3"\n+++\nShow notes of episode %s.\n' $n $n $n $n > "$work/show/ep$n.md"
done
printf '+++\ntitle = "A note"\n+++\nNo audio here.\n' > "$work/show/note.md"
"$bin" --config "$work/feeds.toml" check
"$bin" --config "$work/feeds.toml" serve >"$work/log" 2>&1 &
pid=$!
trap 'kill $pid 2>/dev/null || true; cat "$work/log"' ERR
# Every article file but the ones dated in the future (scheduled).
items=$(python3 - "$repo/articles" "$shared/samples/articles" <<'PY'
import datetime, os, re, sys
today = datetime.date.today().isoformat()
n = 0
for top in sys.argv[1:]:
    for root, _, names in os.walk(top):
        for name in names:
            if not name.endswith((".md", ".txt")):
                continue
            text = open(os.path.join(root, name), encoding="utf-8").read()
            m = re.search(r'^(?:date|publishDate)\s*[=:]\s*"?(\d{4}-\d{2}-\d{2})', text, re.M)
            n += not (m and m.group(1) > today)
print(n)
PY
)
# Wait until every article is in the feeds (each source's first refresh
# and the render after it).
count() { curl -fsS "http://127.0.0.1:$port/feeds/$1.json" 2>/dev/null | python3 -c 'import json,sys; print(len(json.load(sys.stdin)["items"]))' 2>/dev/null || echo 0; }
for _ in $(seq 1 100); do
  if [ "$(count all)" -ge "$items" ] && [ "$(count show)" -ge 2 ]; then break; fi
  sleep 0.2
done
python3 "$shared/tools/check-feed.py" --min-items "$items" \
  "http://127.0.0.1:$port/feeds/all.rss" \
  "http://127.0.0.1:$port/feeds/all.atom"
# feedparser 6.0.x (the PyPI release) has no JSON Feed reader: check it here.
python3 .ci/check-jsonfeed.py "http://127.0.0.1:$port/feeds/all.json" --min-items "$items"
# The shipped and sample articles (first seen together, most undated) make
# feeds without a single W3C validator message.
bash "$shared/tools/w3c-validate.sh" "http://127.0.0.1:$port/feeds/all.rss" "http://127.0.0.1:$port/feeds/all.atom"
# The podcast: the W3C validator's iTunes rules (language, itunes:category
# from Apple's list, itunes:explicit, itunes:owner with an e-mail, supported
# enclosure formats), and only the two episodes, with their audio served.
bash "$shared/tools/w3c-validate.sh" "http://127.0.0.1:$port/feeds/show.rss"
python3 "$shared/tools/check-feed.py" --min-items 2 "http://127.0.0.1:$port/feeds/show.rss"
show=$(curl -fsS "http://127.0.0.1:$port/feeds/show.rss")
[ "$(echo "$show" | grep -o '<item>' | wc -l)" -eq 2 ] || { echo "the podcast should have 2 episodes: $show"; exit 1; }
for tag in '<itunes:category text="Technology">' '<itunes:explicit>false</itunes:explicit>' '<itunes:image href="https://example.org/cover.png"/>' '<itunes:email>podcast@example.org</itunes:email>' 'length="20000" type="audio/mpeg"'; do
  echo "$show" | grep -qF "$tag" || { echo "podcast feed lacks $tag: $show"; exit 1; }
done
curl -fsS -r 100-199 "http://127.0.0.1:$port/articles/ep1/audio/ep1.mp3" -o "$work/part" -w '%{http_code}' | grep -q 206
cmp <(head -c 200 "$work/show/audio/ep1.mp3" | tail -c 100) "$work/part" || { echo "Range request served the wrong bytes"; exit 1; }
# What a person sees in a real browser: headless Chromium (Debian package).
bash .ci/browser.sh "http://127.0.0.1:$port" "http://127.0.0.1:$admin_port"
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
echo "end to end: 3 feeds valid for feedparser, RSS and Atom listed by newsboat, a podcast valid, pages shown by Chromium, clean stop"
rm -rf "$work"
