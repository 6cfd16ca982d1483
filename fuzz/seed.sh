#!/usr/bin/env bash
# Seeds the fuzz corpora from the shared feed corpus (never committed):
#   fuzz/seed.sh ../shared/corpus
set -euo pipefail
corpus=${1:?usage: fuzz/seed.sh PATH_TO_SHARED_CORPUS}
here=$(cd "$(dirname "$0")" && pwd)
mkdir -p "$here/corpus/parse_feed" "$here/corpus/parse_article" "$here/corpus/config"
# Files of the same name live in many folders: name each copy by its path.
find "$corpus" -type f \( -name '*.xml' -o -name '*.rss' -o -name '*.atom' -o -name '*.rdf' -o -name '*.json' \) \
  -size -64k -print0 |
  while IFS= read -r -d '' f; do
    cp "$f" "$here/corpus/parse_feed/$(printf '%s' "$f" | sha1sum | cut -c1-16)"
  done
cp "$here"/../articles/* "$here/corpus/parse_article/"
find "$corpus/../samples" -name '*.txt' -exec cp {} "$here/corpus/parse_article/" \; 2>/dev/null || true
cp "$here/../feeds.toml" "$here/corpus/config/"
echo "seeded: $(ls "$here/corpus/parse_feed" | wc -l) feeds and $(ls "$here/corpus/parse_article" | wc -l) articles"
