#!/usr/bin/env python3
"""Checks a served JSON Feed 1.1 document the way check-feed.py checks RSS
and Atom (the feedparser release on PyPI, 6.0.x, does not read JSON Feed).

Usage: check-jsonfeed.py URL --min-items N
Checks: status 200, Content-Type application/feed+json, version URL 1.1,
title, home_page_url and feed_url (absolute, feed_url equal to URL), every
item with a unique string id, a url, a title or content, content_html or
content_text, and an RFC 3339 date_published. Exit 0 on success, 1 otherwise.
"""
import datetime
import json
import sys
import urllib.request


def main():
    url = sys.argv[1]
    min_items = int(sys.argv[sys.argv.index("--min-items") + 1]) if "--min-items" in sys.argv else 1
    problems = []
    with urllib.request.urlopen(url) as response:
        status = response.status
        ctype = response.headers.get("Content-Type", "")
        doc = json.loads(response.read().decode("utf-8"))
    if status != 200:
        problems.append(f"HTTP status {status}")
    if not ctype.startswith("application/feed+json"):
        problems.append(f"Content-Type {ctype!r}")
    if doc.get("version") != "https://jsonfeed.org/version/1.1":
        problems.append(f"version {doc.get('version')!r}")
    for key in ("title", "home_page_url", "feed_url"):
        if not isinstance(doc.get(key), str) or not doc[key]:
            problems.append(f"no {key}")
    if doc.get("feed_url") != url:
        problems.append(f"feed_url {doc.get('feed_url')!r} is not the served URL")
    items = doc.get("items", [])
    ids = set()
    for i, item in enumerate(items):
        if not isinstance(item.get("id"), str) or not item["id"]:
            problems.append(f"item {i} has no string id")
        elif item["id"] in ids:
            problems.append(f"item {i} repeats id {item['id']}")
        ids.add(item.get("id"))
        if not str(item.get("url", "")).startswith(("http://", "https://")):
            problems.append(f"item {i} has no absolute url")
        if "content_html" not in item and "content_text" not in item:
            problems.append(f"item {i} has neither content_html nor content_text")
        if not (item.get("title") or item.get("content_html") or item.get("content_text")):
            problems.append(f"item {i} has neither title nor content")
        try:
            datetime.datetime.fromisoformat(item["date_published"].replace("Z", "+00:00"))
        except (KeyError, ValueError, AttributeError):
            problems.append(f"item {i} has no RFC 3339 date_published")
    if len(items) < min_items:
        problems.append(f"{len(items)} items, expected at least {min_items}")
    if problems:
        print(f"FAIL {url}: " + "; ".join(problems))
        return 1
    print(f"ok   {url}: json feed 1.1, {len(items)} items, {ctype}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
