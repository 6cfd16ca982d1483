#!/usr/bin/env bash
# What a person sees: loads syndic's pages in headless Chromium (the Debian
# package, installed when missing) and checks the rendered DOM.
#
# Usage: browser.sh BASE_URL [ADMIN_URL]   (a running daemon whose `all` feed
# includes the shipped articles/; ADMIN_URL: its operator pages)
set -euo pipefail
base=${1:?usage: browser.sh BASE_URL [ADMIN_URL]}
admin=${2:-}
if ! command -v chromium >/dev/null; then
  sudo_cmd=""
  [ "$(id -u)" -ne 0 ] && command -v sudo >/dev/null && sudo_cmd="sudo"
  DEBIAN_FRONTEND=noninteractive $sudo_cmd apt-get install -y -qq chromium >/dev/null
fi
# As root (CI) Chromium needs --no-sandbox; syndic's pages run no script.
dom() {
  chromium --headless --no-sandbox --disable-gpu --dump-dom "$1" 2>/dev/null
}
expect() { # URL WHAT...
  local url=$1; shift
  local page
  page=$(dom "$url")
  for want in "$@"; do
    case "$want" in
      !*) if grep -qF -- "${want#!}" <<<"$page"; then echo "browser: $url shows '${want#!}'"; echo "$page" | head -c 2000; exit 1; fi ;;
      *) if ! grep -qF -- "$want" <<<"$page"; then echo "browser: $url does not show '$want'"; echo "$page" | head -c 2000; exit 1; fi ;;
    esac
  done
  echo "browser: $url ok"
}
# The index: what syndic is, the feeds and their pages.
expect "$base/" "<h1>syndic</h1>" "copy one of its addresses" "<h2>Recent items</h2>" 'href="/feeds/all.html"' \
  '<link rel="alternate" type="application/rss+xml"'
# A feed's page, and a feed's own address: the page, never the XML text.
for path in /feeds/all.html /feeds/all.rss /feeds/all.atom; do
  expect "$base$path" "<h1>Everything</h1>" "Welcome to syndic" "value=\"$base/feeds/all.rss\"" \
    '<link rel="alternate" type="application/atom+xml"' '!<rss' '!<feed' '!<channel>'
done
# An article's page, its picture served beside it.
expect "$base/articles/writing-articles" "<h1>Writing articles: front matter in TOML or YAML</h1>" \
  "src=\"$base/articles/writing-articles/media/articles-folder.svg\"" '<link rel="alternate"'
curl -fsS "$base/articles/writing-articles/media/articles-folder.svg" | grep -q '<svg'
# Layout at 1200 px: no sideways scroll, and no table squeezed to a few
# letters per line (the tallest header cell at most 100 px: 3 lines). The
# page is measured from a local copy with a measuring script added (the
# served page runs none: its CSP forbids scripts).
layout() { # URL
  local url=$1 width=1200 file got sw th
  file=$(mktemp --suffix=.html)
  curl -fsS "$url" | sed 's#</body>#<script>var t=document.querySelectorAll("th"),h=0;for(var i=0;i<t.length;i++)h=Math.max(h,t[i].offsetHeight);document.body.setAttribute("data-layout",document.documentElement.scrollWidth+" "+h)</script></body>#' > "$file"
  got=$(chromium --headless --no-sandbox --disable-gpu --window-size=$width,900 --dump-dom "file://$file" 2>/dev/null | grep -o 'data-layout="[0-9]* [0-9]*"' | tr -dc '0-9 ' || true)
  rm -f "$file"
  read -r sw th <<<"$got" || true
  [ -n "${sw:-}" ] || { echo "browser: could not measure the layout of $url"; exit 1; }
  if [ "$sw" -gt "$width" ] || [ "$th" -gt 100 ]; then
    echo "browser: $url at $width px: page $sw px wide, tallest header cell $th px (at most $width and 100)"; exit 1
  fi
  echo "browser: $url at $width px: page $sw px wide, tallest header cell $th px"
}
layout "$base/"
if [ -n "$admin" ]; then
  expect "$admin/" "<h2>Sources</h2>" "<h2>Recent items</h2>"
  layout "$admin/"
fi
