#!/usr/bin/env bash
# Builds the Debian package: target/debian/syndic_VERSION-1_ARCH.deb.
#
#   packaging/deb.sh            # build (installs cargo-deb first if missing)
#   sudo apt install ./target/debian/syndic_*.deb
#
# It holds /usr/bin/syndic, /etc/syndic/feeds.toml (a conffile) and the
# articles folder it publishes, the systemd service and socket units (not
# enabled: edit the config, then `systemctl enable --now syndic`), man pages, shell
# completions, README and LICENSE. The man pages and completions come from
# the binary (`syndic man`, `syndic completions`), the unit from
# systemd/syndic.service with the binary at /usr/bin.
set -euo pipefail
cd "$(dirname "$0")/.."
command -v cargo-deb >/dev/null || cargo install cargo-deb --locked --version '^3'
cargo build --release
bin=target/release/syndic
out=target/deb-assets
rm -rf "$out"
mkdir -p "$out/man" "$out/units" "$out/scripts"
"$bin" man > "$out/man/syndic.1"
for c in $("$bin" man --list); do "$bin" man "$c" > "$out/man/syndic-$c.1"; done
gzip -9n "$out"/man/*.1
"$bin" completions bash > "$out/syndic.bash"
"$bin" completions zsh > "$out/_syndic"
"$bin" completions fish > "$out/syndic.fish"
sed 's#/usr/local/bin/syndic#/usr/bin/syndic#g' systemd/syndic.service > "$out/units/syndic.service"
grep -q '/usr/local' "$out/units/syndic.service" && { echo "unit still names /usr/local"; exit 1; }
cp systemd/syndic.socket "$out/units/syndic.socket"
cargo deb --no-build "$@"
