#!/usr/bin/env bash
# What a person sees: loads syndic's pages in headless Chromium (the Debian
# package, installed when missing) and checks the rendered DOM.
#
# Usage: browser.sh BASE_URL   (a running daemon whose `all` feed includes
# the shipped articles/)
set -euo pipefail
base=${1:?usage: browser.sh BASE_URL}
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
expect "$base/" "<h1>syndic</h1>" "copy one of its addresses" 'href="/feeds/all.html"' \
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
