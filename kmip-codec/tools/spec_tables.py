"""Reads the tables out of the KMIP specification HTML (Word export) with only the standard
library: yields (heading, rows) where heading is the text of the last h1..h6 before the table and
rows are lists of cell texts."""
import html
import re
from html.parser import HTMLParser


class _Tables(HTMLParser):
    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.heading = ""
        self.in_heading = False
        self.head_buf = []
        self.tables = []  # (heading, rows)
        self.depth = 0
        self.rows = None
        self.row = None
        self.cell = None

    def handle_starttag(self, tag, attrs):
        if tag in ("h1", "h2", "h3", "h4", "h5", "h6"):
            self.in_heading = True
            self.head_buf = []
        elif tag == "table":
            self.depth += 1
            if self.depth == 1:
                self.rows = []
        elif tag == "tr" and self.depth == 1:
            self.row = []
        elif tag in ("td", "th") and self.depth == 1 and self.row is not None:
            self.cell = []
        elif tag in ("p", "br") and self.cell is not None:
            self.cell.append(" ")

    def handle_endtag(self, tag):
        if tag in ("h1", "h2", "h3", "h4", "h5", "h6") and self.in_heading:
            self.in_heading = False
            self.heading = norm("".join(self.head_buf))
        elif tag == "table":
            if self.depth == 1 and self.rows is not None:
                self.tables.append((self.heading, self.rows))
                self.rows = None
            self.depth = max(0, self.depth - 1)
        elif tag == "tr" and self.depth == 1 and self.row is not None:
            self.rows.append(self.row)
            self.row = None
        elif tag in ("td", "th") and self.cell is not None:
            self.row.append(norm("".join(self.cell)))
            self.cell = None

    def handle_data(self, data):
        if self.in_heading:
            self.head_buf.append(data)
        if self.cell is not None:
            self.cell.append(data)


def norm(s):
    s = s.replace("\u00a0", " ").replace("\u2011", "-").replace("\u2010", "-").replace("\u2013", "-")
    s = s.replace("\u200b", "")
    return re.sub(r"\s+", " ", s).strip()


def tables(path):
    raw = open(path, "rb").read()
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        text = raw.decode("windows-1252", errors="replace")
    p = _Tables()
    p.feed(text)
    return p.tables
