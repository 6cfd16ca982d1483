#!/usr/bin/env python3
"""Check that feed readers read back what was ingested.

Usage: compare-ingested.py BASE_URL ARTICLE_DIR [ARTICLE_DIR ...]

Reads BASE_URL/feeds/all.rss and .atom with feedparser and .json as JSON,
and checks: the titles are exactly the titles of the article files (front
matter `title`, or a text file's first non-empty line); and every item has
the same id, title, link and date (to the second) in all three formats.
Exit 0 when all agree, 1 otherwise.
"""
import json
import os
import re
import sys
import urllib.request
from datetime import datetime, timezone

import feedparser


def scheduled(text):
    """Whether the front matter dates the article in the future."""
    m = re.search(r'^(?:date|publishDate)\s*[=:]\s*"?(\d{4}-\d{2}-\d{2})', text, re.M)
    return bool(m) and m.group(1) > datetime.now(timezone.utc).strftime("%Y-%m-%d")


def article_titles(dirs):
    titles = set()
    for d in dirs:
        for name in os.listdir(d):
            if not name.endswith((".md", ".markdown", ".txt")):
                continue  # folders of media, attachments
            text = open(os.path.join(d, name), encoding="utf-8").read()
            if scheduled(text):
                continue
            if name.endswith(".txt"):
                titles.add(next(l.strip() for l in text.splitlines() if l.strip()))
                continue
            m = re.search(r'^title\s*[=:]\s*"?(.*?)"?\s*$', text, re.M)
            if m:
                titles.add(m.group(1))
    return titles


def utc(struct):
    return datetime(*struct[:6], tzinfo=timezone.utc)


def main(base, dirs):
    problems = []
    jf = json.load(urllib.request.urlopen(f"{base}/feeds/all.json"))
    by_id = {i["id"]: i for i in jf["items"]}
    want = article_titles(dirs)
    got = {i["title"] for i in jf["items"]}
    if got != want:
        problems.append(f"JSON titles {sorted(got)} != ingested {sorted(want)}")
    for ext in ("rss", "atom"):
        d = feedparser.parse(f"{base}/feeds/all.{ext}")
        if d.bozo:
            problems.append(f"{ext}: bozo {d.bozo_exception!r}")
        if len(d.entries) != len(by_id):
            problems.append(f"{ext}: {len(d.entries)} entries, JSON has {len(by_id)}")
        for e in d.entries:
            j = by_id.get(e.get("id"))
            if j is None:
                problems.append(f"{ext}: id {e.get('id')} not in the JSON Feed")
                continue
            if e.get("title") != j["title"]:
                problems.append(f"{ext}: title {e.get('title')!r} != {j['title']!r}")
            if e.get("link") != j["url"]:
                problems.append(f"{ext}: link {e.get('link')!r} != {j['url']!r}")
            published = e.get("published_parsed") or e.get("updated_parsed")
            want_date = datetime.fromisoformat(j["date_published"]).astimezone(timezone.utc).replace(microsecond=0)
            if published is None or utc(published) != want_date:
                problems.append(f"{ext}: {j['title']!r} dated {published} != {want_date}")
    for p in problems:
        print("FAIL", p)
    if not problems:
        print(f"ok   {len(by_id)} items: same titles as ingested; same ids, titles, links, dates in RSS, Atom, JSON")
    return 1 if problems else 0


if __name__ == "__main__":
    if len(sys.argv) < 3:
        print(__doc__, file=sys.stderr)
        sys.exit(2)
    sys.exit(main(sys.argv[1], sys.argv[2:]))
