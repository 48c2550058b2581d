"""Collects tags, enumerations and masks from every KMIP specification version."""
import re
from spec_tables import tables

SPEC_DIR = "/work/shared/kmip-spec"
VERSIONS = [
    ("1.0", "kmip-spec-1.0-os"), ("1.1", "kmip-spec-v1.1-os"), ("1.2", "kmip-spec-v1.2-os"),
    ("1.3", "kmip-spec-v1.3-os"), ("1.4", "kmip-spec-v1.4-os"), ("2.0", "kmip-spec-v2.0-os"),
    ("2.1", "kmip-spec-v2.1-os"),
]
HEX = re.compile(r"^(?:0x)?([0-9A-Fa-f]{6,8})\b")


# Typos in a specification's tables, fixed to the spelling the other versions and the vectors use.
SPEC_TYPOS = {
    "MFG1": "MGF1",  # KMIP 2.0 and 2.1, Mask Generator Enumeration
}


def clean_name(s):
    s = re.sub(r"\s*\(deprecated[^)]*\)", "", s, flags=re.I)
    s = s.strip()
    return SPEC_TYPOS.get(s, s)


def collect(spec_dir=SPEC_DIR):
    """Returns (tags, enums, masks, sections): tags = {value: {version: name}},
    enums/masks = {enum name: {version: [(name, value)]}}, sections = {enum name: [(version,
    section)]} for the newest 1.x and 2.x section."""
    tags, enums, masks, sections = {}, {}, {}, {}
    for ver, fname in VERSIONS:
        for heading, rows in tables("%s/%s.html" % (spec_dir, fname)):
            m = re.match(r"^(9\.1\.3\.1|9\.1\.3\.2\.\d+|9\.1\.3\.3\.\d+|11\.\d+|12\.\d+) (.*)$", heading)
            if not m:
                continue
            title, section = m.group(2), m.group(1)
            if len(rows) < 3 or rows[1][:2] not in (["Name", "Value"], ["Object", "Tag Value"]):
                continue
            entries = []
            for row in rows[2:]:
                if len(row) < 2:
                    continue
                name, val = clean_name(row[0]), row[1]
                hm = HEX.match(val)
                if not hm or name.startswith("(") or name == "Extensions":
                    continue
                entries.append((name, int(hm.group(1), 16)))
            if title in ("Tags", "Tag Enumeration"):
                for name, v in entries:
                    tags.setdefault(v, {})[ver] = name
                continue
            if title.endswith("Mask"):
                masks.setdefault(title, {})[ver] = entries
            else:
                title = re.sub(r" Enumeration.*$", "", title)
                enums.setdefault(title, {}).setdefault(ver, []).extend(entries)
            secs = [s for s in sections.get(title, []) if s[0][0] != ver[0]]
            sections[title] = secs + [(ver, section)]
    return tags, enums, masks, sections
