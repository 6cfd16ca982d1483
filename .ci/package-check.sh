#!/usr/bin/env bash
# The Debian package, built and inspected: packaging/deb.sh makes it, then
# its control fields, conffiles and file list are checked, it is unpacked
# into a scratch root where the packaged binary must pass `syndic check` on
# the packaged config, and (as root) it is installed with dpkg, run from the
# PATH, and removed, leaving the edited config (a conffile) in place.
set -euo pipefail
cd "$(dirname "$0")/.."
bash packaging/deb.sh
deb=$(ls -t target/debian/syndic_*.deb | head -n 1)
echo "package: $deb ($(du -h "$deb" | cut -f1))"
fail() { echo "package check: $*"; exit 1; }

info=$(dpkg-deb -I "$deb")
echo "$info" | grep -q '^ Package: syndic$' || fail "no Package: syndic"
echo "$info" | grep -q "^ Version: $(sed -n 's/^version = "\(.*\)"/\1/p' Cargo.toml | head -n 1)" || fail "version differs from Cargo.toml"
echo "$info" | grep -q '^ Depends: .*libc6' || fail "Depends does not name libc6"
scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT
dpkg-deb -e "$deb" "$scratch/DEBIAN"
grep -qx '/etc/syndic/feeds.toml' "$scratch/DEBIAN/conffiles" || fail "feeds.toml is not a conffile"

files=$(dpkg-deb -c "$deb" | awk '{print $6}')
for f in ./usr/bin/syndic ./etc/syndic/feeds.toml ./etc/syndic/articles/welcome-to-syndic.md \
         ./etc/syndic/articles/media/articles-folder.svg \
         ./usr/share/doc/syndic/README.md ./usr/share/doc/syndic/LICENSE \
         ./usr/share/man/man1/syndic.1.gz ./usr/share/man/man1/syndic-fetch.1.gz \
         ./usr/share/bash-completion/completions/syndic \
         ./usr/share/zsh/vendor-completions/_syndic \
         ./usr/share/fish/vendor_completions.d/syndic.fish; do
  echo "$files" | grep -qx "$f" || fail "missing $f"
done
unit=$(echo "$files" | grep -E '^\./(usr/)?lib/systemd/system/syndic\.service$') || fail "no systemd unit"
echo "$files" | grep -qE '^\./(usr/)?lib/systemd/system/syndic\.socket$' || fail "no systemd socket unit"

root="$scratch/root"
dpkg-deb -x "$deb" "$root"
grep -q '^ExecStart=/usr/bin/syndic ' "$root/${unit#./}" || fail "the unit does not start /usr/bin/syndic"
grep -q '/usr/local' "$root/${unit#./}" && fail "the unit names /usr/local"
"$root/usr/bin/syndic" --config "$root/etc/syndic/feeds.toml" check
for page in "$root"/usr/share/man/man1/syndic*.1.gz; do
  zcat "$page" | grep -q '^\.TH' || fail "$page is not a man page"
done
for c in usr/share/bash-completion/completions/syndic usr/share/zsh/vendor-completions/_syndic \
         usr/share/fish/vendor_completions.d/syndic.fish; do
  grep -q 'fetch' "$root/$c" || fail "$c does not complete the subcommands"
done

if [ "$(id -u)" -eq 0 ] && command -v dpkg >/dev/null; then
  dpkg -i "$deb" >/dev/null
  [ "$(command -v syndic)" = /usr/bin/syndic ] || fail "syndic is not on the PATH after dpkg -i"
  syndic --version
  syndic --config /etc/syndic/feeds.toml check
  if command -v systemd-analyze >/dev/null; then
    out=$(systemd-analyze verify "/${unit#./}" "/$(dirname "${unit#./}")/syndic.socket" 2>&1 || true)
    [ -z "$out" ] || { echo "$out"; fail "systemd-analyze verify of the installed units is not clean"; }
    echo "systemd-analyze verify (installed service and socket): clean"
  else
    echo "SKIP: systemd-analyze is not installed: the installed units were not verified"
  fi
  echo '# edited by the sysadmin' >> /etc/syndic/feeds.toml
  dpkg -r syndic >/dev/null
  [ ! -e /usr/bin/syndic ] || fail "dpkg -r left /usr/bin/syndic"
  grep -q 'edited by the sysadmin' /etc/syndic/feeds.toml || fail "dpkg -r did not keep the edited config"
  dpkg -P syndic >/dev/null
  echo "dpkg -i / -r / -P: ok"
else
  echo "SKIP: dpkg -i (needs root); the unpacked package was checked"
fi
echo "package check: ok"
