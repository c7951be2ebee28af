"""Checks a citadel HTML page with Python's own parser, independently of the C++ writer.

Prints JSON: the chart titles, the legend entries, the table cells, the text of the page,
and each chart's title, axis labels, legend entries and dots drawn ("charts"). Exits 1 naming the problem when the page is not well formed, holds a script or any
external reference (a URL, a linked style sheet or font, an image or frame), or lacks the
Content-Security-Policy that forbids them."""

import json
import re
import sys
from html.parser import HTMLParser

VOID = {"meta", "br", "hr", "img", "input", "link", "area", "base", "col", "embed", "source", "track", "wbr"}
SVG_EMPTY = {"line", "polyline", "circle", "rect", "path"}  # written self-closing
FORBIDDEN = {"script", "link", "img", "iframe", "object", "embed", "image", "use", "foreignobject", "audio", "video",
             "base", "form"}
URL = re.compile(r"(https?:|ftp:|file:|data:|javascript:|//|url\(|@import)", re.IGNORECASE)


class Page(HTMLParser):
    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.stack, self.problems = [], []
        self.titles, self.legends, self.cells, self.text = [], [], [], []
        self.charts = []  # one {"title", "axis_labels", "legends", "dots"} per <svg>
        self.csp = False
        self._capture = None

    def fail(self, message):
        self.problems.append(f"line {self.getpos()[0]}: {message}")

    def handle_starttag(self, tag, attrs):
        if tag in FORBIDDEN:
            self.fail(f"<{tag}> is not allowed")
        for name, value in attrs:
            if name.startswith("on"):
                self.fail(f"event handler attribute {name}")
            if name in ("href", "src", "xlink:href", "action", "srcset", "poster") :
                self.fail(f"reference attribute {name}={value!r}")
            if value and URL.search(value) and not (tag == "meta" and name == "content"):
                self.fail(f"external reference in {tag} {name}={value!r}")
        if tag == "meta" and dict(attrs).get("http-equiv", "").lower() == "content-security-policy":
            self.csp = "default-src 'none'" in dict(attrs).get("content", "")
        if tag in VOID:
            return
        self.stack.append(tag)
        if tag == "svg":
            self.charts.append({"title": "", "axis_labels": [], "legends": [], "dots": 0})
        if tag == "circle" and self.charts and "dot" in (dict(attrs).get("class") or "").split():
            self.charts[-1]["dots"] += 1
        if (tag == "title" and self.stack[-2:-1] == ["svg"]) or tag in ("th", "td") or (tag == "text" and ("class", "legend") in attrs):
            self._capture = (tag, len(self.stack), [])
        elif tag == "text" and ("class", "axis-label") in attrs:
            self._capture = ("axis", len(self.stack), [])

    def handle_startendtag(self, tag, attrs):
        self.handle_starttag(tag, attrs)
        if tag not in VOID:
            self.handle_endtag(tag)

    def handle_endtag(self, tag):
        if tag in VOID:
            return
        if not self.stack or self.stack[-1] != tag:
            self.fail(f"</{tag}> closes <{self.stack[-1] if self.stack else 'nothing'}>")
            return
        if self._capture and self._capture[1] == len(self.stack):
            kind, _, parts = self._capture
            text = "".join(parts).strip()
            if kind == "title":
                self.titles.append(text)
                if self.charts:
                    self.charts[-1]["title"] = text
            elif kind in ("th", "td"):
                self.cells.append(text)
            elif kind == "text":
                self.legends.append(text)
                if self.charts:
                    self.charts[-1]["legends"].append(text)
            elif kind == "axis" and self.charts:
                self.charts[-1]["axis_labels"].append(text)
            self._capture = None
        self.stack.pop()

    def handle_data(self, data):
        if self.stack and self.stack[-1] == "style":
            if URL.search(data):
                self.fail("external reference in the style sheet")
            return
        if self._capture:
            self._capture[2].append(data)
        self.text.append(data)


def main():
    with open(sys.argv[1], encoding="utf-8") as file:
        html = file.read()
    if not html.startswith("<!DOCTYPE html>"):
        print("no <!DOCTYPE html>", file=sys.stderr)
        return 1
    page = Page()
    page.feed(html)
    page.close()
    if page.stack:
        page.problems.append(f"unclosed elements at the end: {page.stack}")
    if not page.csp:
        page.problems.append("no Content-Security-Policy with default-src 'none'")
    if page.problems:
        print("\n".join(page.problems), file=sys.stderr)
        return 1
    print(json.dumps({"titles": page.titles, "legends": page.legends, "cells": page.cells,
                      "text": " ".join(" ".join(page.text).split()), "charts": page.charts}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
