#!/usr/bin/env python3
"""Checks a reviewer's page as a browser built it against klp-diff's JSON report.

    html_check.py REPORT.json DOM.html

DOM.html is `chromium --headless --dump-dom` of the page: the document after parsing (and after
its script ran). Every function the JSON reports must have an element with its name and verdict
(data-name, data-verdict); every reason of a function that is not unchanged must be in that
function's block; every changed instruction and every reference out of the module (klp relocation
and export) must be on the page; every refusal must show its message. Prints what it checked;
exits 1 naming the first missing item.
"""
import html.parser
import json
import sys


class Dom(html.parser.HTMLParser):
    """Elements with data-name, their attributes and their text; all the page's text."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.blocks = []  # (attrs, [text]) of elements carrying data-verdict
        self.open = []  # (tag, index into blocks or None)
        self.ref_symbols = set()
        self.text = []

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        idx = None
        if "data-verdict" in a:
            self.blocks.append((a, []))
            idx = len(self.blocks) - 1
        if tag == "tr" and "ref" in (a.get("class") or "").split():
            self.ref_symbols.add(a.get("data-symbol"))
        if tag not in ("br", "col", "meta", "input", "img", "hr", "link"):
            self.open.append((tag, idx))

    def handle_endtag(self, tag):
        while self.open:
            t, _ = self.open.pop()
            if t == tag:
                break

    def handle_data(self, data):
        self.text.append(data)
        for _, idx in self.open:
            if idx is not None:
                self.blocks[idx][1].append(data)


def main():
    report = json.load(open(sys.argv[1]))
    dom = Dom()
    dom.feed(open(sys.argv[2], encoding="utf-8").read())
    page = "".join(dom.text)
    by_name = {}
    for attrs, text in dom.blocks:
        by_name.setdefault((attrs.get("data-name"), attrs.get("data-verdict")), []).append(
            "".join(text))
    checked = {"functions": 0, "reasons": 0, "instructions": 0, "references": 0, "refusals": 0}

    def need(cond, what):
        if not cond:
            print("html_check: missing on the page: " + what, file=sys.stderr)
            sys.exit(1)

    for o in report["objects"]:
        where = o["object"] or o["patched"]
        if o["refusal"]:
            r = o["refusal"]
            for part in r["message"].split("; "):
                need(part in page, f"{where}: refusal message part {part!r}")
            checked["refusals"] += 1
        for f in o["functions"]:
            key = (f["name"], f["verdict"])
            need(key in by_name, f"{where}: function {f['name']} with verdict {f['verdict']}")
            checked["functions"] += 1
            if f["verdict"] == "unchanged":
                continue
            block = " ".join(by_name[key])
            for reason in f["reasons"]:
                need(reason in block, f"{where}: {f['name']}: reason {reason!r}")
                checked["reasons"] += 1
            for hunk in f["code"]:
                for line in hunk["lines"]:
                    need(line["text"] in block, f"{where}: {f['name']}: instruction {line['text']!r}")
                    checked["instructions"] += 1
            for ref in f["references"] + f.get("exported_references", []):
                need(ref["symbol"] in dom.ref_symbols,
                     f"{where}: {f['name']}: reference {ref['symbol']} in the references table")
                checked["references"] += 1
    print("html_check: " + ", ".join(f"{v} {k}" for k, v in checked.items()) + " found on the page")
    need(checked["functions"] > 0 or checked["refusals"] > 0, "any function")


if __name__ == "__main__":
    main()
