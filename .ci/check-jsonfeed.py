#!/usr/bin/env python3
"""Checks a served JSON Feed 1.1 document against the JSON Feed 1.1 rules
(https://www.jsonfeed.org/version/1.1/), the way w3c-validate.sh checks RSS
and Atom (feedparser 6.0.x, the PyPI release, does not read JSON Feed).

Usage: check-jsonfeed.py URL... [--min-items N]
Checks, for each URL: status 200, Content-Type application/feed+json;
version URL 1.1; the required fields (title, items) and the type of every
known field (strings, booleans, numbers, arrays, objects); every URL field
an absolute http(s) URL, feed_url equal to URL; no empty string where the
spec expects text; authors with a name, url or avatar; hubs with type and
url; every item with a unique, non-empty string id, content_html or
content_text, RFC 3339 dates, tags as strings, attachments with url and
mime_type; no unknown key unless it starts with `_` (an extension).
Exit 0 on success, 1 otherwise.
"""
import json
import re
import sys
import urllib.request

RFC3339 = re.compile(
    r"^\d{4}-\d{2}-\d{2}[Tt]\d{2}:\d{2}:\d{2}(\.\d+)?([Zz]|[+-]\d{2}:\d{2})$"
)
ABSOLUTE = re.compile(r"^https?://[^\s/?#]+[^\s]*$")

FEED_FIELDS = {
    "version": "str", "title": "str", "home_page_url": "url", "feed_url": "url",
    "description": "str", "user_comment": "str", "next_url": "url", "icon": "url",
    "favicon": "url", "authors": "authors", "author": "author", "language": "str",
    "expired": "bool", "hubs": "hubs", "items": "items",
}
ITEM_FIELDS = {
    "id": "str", "url": "url", "external_url": "url", "title": "str",
    "content_html": "str", "content_text": "str", "summary": "str", "image": "url",
    "banner_image": "url", "date_published": "date", "date_modified": "date",
    "authors": "authors", "author": "author", "tags": "tags", "language": "str",
    "attachments": "attachments",
}
ATTACHMENT_FIELDS = {
    "url": "url", "mime_type": "str", "title": "str", "size_in_bytes": "num",
    "duration_in_seconds": "num",
}


def check_fields(obj, fields, where, problems):
    if not isinstance(obj, dict):
        problems.append(f"{where} is not an object")
        return
    for key, value in obj.items():
        if key.startswith("_"):
            continue
        kind = fields.get(key)
        if kind is None:
            problems.append(f"{where}: unknown key {key!r}")
        elif kind in ("str", "url", "date"):
            if not isinstance(value, str) or not value.strip():
                problems.append(f"{where}.{key} is not a non-empty string: {value!r}")
            elif kind == "url" and not ABSOLUTE.match(value):
                problems.append(f"{where}.{key} is not an absolute http(s) URL: {value!r}")
            elif kind == "date" and not RFC3339.match(value):
                problems.append(f"{where}.{key} is not an RFC 3339 date: {value!r}")
        elif kind == "bool" and not isinstance(value, bool):
            problems.append(f"{where}.{key} is not a boolean")
        elif kind == "num" and (isinstance(value, bool) or not isinstance(value, (int, float)) or value < 0):
            problems.append(f"{where}.{key} is not a non-negative number")
        elif kind in ("authors", "tags", "hubs", "attachments", "items") and not isinstance(value, list):
            problems.append(f"{where}.{key} is not an array")
        elif kind in ("authors", "author"):
            for i, author in enumerate(value if kind == "authors" else [value]):
                name = f"{where}.{key}[{i}]" if kind == "authors" else f"{where}.{key}"
                check_fields(author, {"name": "str", "url": "url", "avatar": "url"}, name, problems)
                if isinstance(author, dict) and not any(k in author for k in ("name", "url", "avatar")):
                    problems.append(f"{name} has no name, url or avatar")
        elif kind == "tags":
            if not all(isinstance(t, str) and t.strip() for t in value):
                problems.append(f"{where}.tags holds something else than non-empty strings")
        elif kind == "hubs":
            for i, hub in enumerate(value):
                check_fields(hub, {"type": "str", "url": "url"}, f"{where}.hubs[{i}]", problems)
                if isinstance(hub, dict) and not ("type" in hub and "url" in hub):
                    problems.append(f"{where}.hubs[{i}] needs type and url")
        elif kind == "attachments":
            for i, att in enumerate(value):
                check_fields(att, ATTACHMENT_FIELDS, f"{where}.attachments[{i}]", problems)
                if isinstance(att, dict) and not ("url" in att and "mime_type" in att):
                    problems.append(f"{where}.attachments[{i}] needs url and mime_type")


def check(url, min_items):
    problems = []
    with urllib.request.urlopen(url) as response:
        status = response.status
        ctype = response.headers.get("Content-Type", "")
        doc = json.loads(response.read().decode("utf-8"))
    if status != 200:
        problems.append(f"HTTP status {status}")
    if not ctype.startswith("application/feed+json"):
        problems.append(f"Content-Type {ctype!r}")
    if not isinstance(doc, dict):
        print(f"FAIL {url}: not a JSON object")
        return 1
    if doc.get("version") != "https://jsonfeed.org/version/1.1":
        problems.append(f"version {doc.get('version')!r}")
    for key in ("title", "items"):
        if key not in doc:
            problems.append(f"no {key}")
    check_fields(doc, FEED_FIELDS, "feed", problems)
    if doc.get("feed_url") != url:
        problems.append(f"feed_url {doc.get('feed_url')!r} is not the served URL")
    items = doc.get("items") if isinstance(doc.get("items"), list) else []
    ids = set()
    for i, item in enumerate(items):
        where = f"items[{i}]"
        check_fields(item, ITEM_FIELDS, where, problems)
        if not isinstance(item, dict):
            continue
        if not isinstance(item.get("id"), str) or not item["id"]:
            problems.append(f"{where} has no string id")
        elif item["id"] in ids:
            problems.append(f"{where} repeats id {item['id']}")
        ids.add(item.get("id"))
        if "content_html" not in item and "content_text" not in item:
            problems.append(f"{where} has neither content_html nor content_text")
        # What syndic promises beyond the spec: every item has a link, a
        # title and a date.
        for key in ("url", "title", "date_published"):
            if key not in item:
                problems.append(f"{where} has no {key}")
    if len(items) < min_items:
        problems.append(f"{len(items)} items, expected at least {min_items}")
    if problems:
        shown = problems[:20] + ([f"... {len(problems) - 20} more"] if len(problems) > 20 else [])
        print(f"FAIL {url}: " + "; ".join(shown))
        return 1
    print(f"ok   {url}: json feed 1.1, {len(items)} items, {ctype}")
    return 0


def main():
    args = sys.argv[1:]
    min_items = 1
    if "--min-items" in args:
        i = args.index("--min-items")
        min_items = int(args[i + 1])
        del args[i : i + 2]
    if not args:
        print(__doc__)
        return 2
    return max(check(url, min_items) for url in args)


if __name__ == "__main__":
    sys.exit(main())
