#!/usr/bin/env bash
# Seeds the fuzz corpora from the shared feed corpus (never committed):
#   fuzz/seed.sh ../shared/corpus
set -euo pipefail
corpus=${1:?usage: fuzz/seed.sh PATH_TO_SHARED_CORPUS}
here=$(cd "$(dirname "$0")" && pwd)
mkdir -p "$here/corpus/parse_feed" "$here/corpus/parse_article" "$here/corpus/config"
find "$corpus" -type f \( -name '*.xml' -o -name '*.rss' -o -name '*.atom' -o -name '*.rdf' -o -name '*.json' \) \
  -size -64k -exec cp -t "$here/corpus/parse_feed" {} +
cp "$here"/../articles/* "$here/corpus/parse_article/"
find "$corpus/../samples" -name '*.txt' -exec cp -t "$here/corpus/parse_article" {} + 2>/dev/null || true
cp "$here/../feeds.toml" "$here/corpus/config/"
echo "seeded: $(ls "$here/corpus/parse_feed" | wc -l) feeds, $(ls "$here/corpus/parse_article" | wc -l) articles"
