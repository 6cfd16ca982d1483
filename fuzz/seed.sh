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
# sanitize_diff: the HTML fragments of the feeds (CDATA sections and
# escaped descriptions/contents), each behind a byte that picks the base URL.
mkdir -p "$here/corpus/sanitize_diff"
python3 - "$corpus" "$here/corpus/sanitize_diff" <<'PY'
import hashlib, html, os, re, sys
src, dst = sys.argv[1], sys.argv[2]
pat = re.compile(r"<!\[CDATA\[(.*?)\]\]>|<(?:description|content|summary|content:encoded)[^>]*>([^<]*)<", re.S)
for dirpath, _, names in os.walk(src):
    for name in names:
        try:
            text = open(os.path.join(dirpath, name), encoding="utf-8").read()
        except (UnicodeDecodeError, OSError):
            continue
        for m in pat.finditer(text):
            frag = m.group(1) if m.group(1) is not None else html.unescape(m.group(2))
            if "<" not in frag and "&" not in frag:
                continue
            data = frag.encode()[:8192]
            for selector in (b"\x00", b"\x01"):
                out = os.path.join(dst, hashlib.sha1(selector + data).hexdigest()[:16])
                with open(out, "wb") as f:
                    f.write(selector + data)
PY
cp "$here"/../articles/* "$here/corpus/parse_article/"
find "$corpus/../samples" -name '*.txt' -exec cp {} "$here/corpus/parse_article/" \; 2>/dev/null || true
cp "$here/../feeds.toml" "$here/corpus/config/"
echo "seeded: $(ls "$here/corpus/parse_feed" | wc -l) feeds, $(ls "$here/corpus/parse_article" | wc -l) articles, $(ls "$here/corpus/sanitize_diff" | wc -l) HTML fragments"
