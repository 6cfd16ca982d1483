#!/usr/bin/env bash
# The README's "Running under systemd" steps, run as written into a scratch
# root: DESTDIR is set, `sudo` is dropped when already root (or kept), and
# the lines that need a running systemd (systemctl, systemd-analyze,
# journalctl) are skipped; the unit itself is verified by .ci/run. Fails if
# any step fails, if the installed config does not pass `syndic check`, or
# if a file the unit or the README names is missing.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(mktemp -d)
trap 'rm -rf "$root"' EXIT
steps=$(awk '/^## Running under systemd/{s=1} s&&/^```sh/{b=1;next} b&&/^```/{exit} b{print}' README.md)
[ -n "$steps" ] || { echo "no systemd steps found in README.md"; exit 1; }
script=$(echo "$steps" | grep -vE '^\s*(sudo )?(systemctl|systemd-analyze|journalctl)\b')
if [ "$(id -u)" -eq 0 ]; then script=$(echo "$script" | sed -E 's/(^|\| )sudo /\1/g'); fi
echo "$script" | sed 's/^/  + /'
DESTDIR="$root" bash -euo pipefail -c "$script"
for f in usr/local/bin/syndic etc/syndic/feeds.toml etc/syndic/articles \
         usr/share/doc/syndic/README.md usr/share/doc/syndic/LICENSE \
         usr/local/share/man/man1/syndic.1 usr/local/share/man/man1/syndic-fetch.1 \
         usr/share/bash-completion/completions/syndic \
         usr/local/share/zsh/site-functions/_syndic \
         usr/share/fish/vendor_completions.d/syndic.fish \
         etc/systemd/system/syndic.service; do
  [ -e "$root/$f" ] && [ -s "$root/$f" -o -d "$root/$f" ] || { echo "missing or empty after the steps: /$f"; exit 1; }
done
# The unit's Documentation= file is one of them.
doc=$(sed -n 's#^Documentation=file://##p' systemd/syndic.service)
[ -z "$doc" ] || [ -e "$root$doc" ] || { echo "the unit's Documentation=$doc is not installed"; exit 1; }
echo "install steps: ok (the installed config passes syndic check)"
