"""Writes the per-family facts of docs/KMIP-VECTOR-INVENTORY.md from the OASIS vectors.

For each profile family (file-name prefix before -M- / -O-) and KMIP version (the file's last
-NN): the number of files, and the operations, object types, key formats, algorithms and other
enumerated parameters, and attributes the files use (requests and responses). Names are the
specification's, read from the generated tag and enumeration tables of this crate.

    python3 kmip-codec/tools/vector_inventory.py [../shared/kmip-vectors] > facts.md
"""
import collections
import os
import re
import sys
import xml.etree.ElementTree as ET

HERE = os.path.dirname(os.path.abspath(__file__))
GENERATED_TAGS = os.path.join(HERE, "..", "src", "tags", "generated.rs")
GENERATED_ENUMS = os.path.join(HERE, "..", "src", "enums", "generated.rs")

# 2.x structures whose children are attributes tagged by the attribute.
ATTRIBUTE_CONTAINERS = {"Attributes", "CommonAttributes", "PrivateKeyAttributes",
                        "PublicKeyAttributes", "NewAttribute", "CurrentAttribute"}
# Enumerations reported as "other parameters", by tag.
PARAMETERS = ["BlockCipherMode", "PaddingMethod", "HashingAlgorithm", "DigitalSignatureAlgorithm",
              "MaskGenerator", "MaskGeneratorHashingAlgorithm", "RecommendedCurve",
              "DerivationMethod", "WrappingMethod", "EncodingOption", "KeyWrapType",
              "CertificateType", "SecretDataType", "OpaqueDataType", "SplitKeyMethod",
              "RNGAlgorithm", "DRBGAlgorithm", "QueryFunction", "ProfileName", "InteropFunction",
              "PKCS_11Function", "ProtectionLevel", "ValidityIndicator", "NameType", "LinkType",
              "RevocationReasonCode", "AlternativeNameType", "KeyRoleType"]


def load_names():
    tags, enums = {}, {}
    text = open(GENERATED_TAGS, encoding="utf-8").read()
    for spec, xml in re.findall(r'spec_name: "([^"]+)",\s*xml_name: "([^"]+)"', text):
        tags[xml] = spec
    text = open(GENERATED_ENUMS, encoding="utf-8").read()
    for xml, spec in re.findall(r'= 0x[0-9A-Fa-f]+, "([^"]+)", "([^"]+)"', text):
        enums.setdefault(xml, spec)
    return tags, enums


def family(name):
    m = re.match(r"(.*?)-(M|O)-", name)
    return m.group(1) if m else name


def version(name):
    v = re.search(r"-(\d)(\d)\.xml$", name)
    return f"{v.group(1)}.{v.group(2)}"


def scan(root):
    tags, enums = load_names()
    facts = collections.OrderedDict()
    files = sorted(os.path.join(d, f) for d, _, fs in os.walk(root) for f in fs
                   if f.endswith(".xml"))
    for path in files:
        name = os.path.basename(path)
        fam, ver = family(name), version(name)
        f = facts.setdefault(fam, {"files": collections.Counter(),
                                   "kinds": collections.Counter(),
                                   "sets": collections.defaultdict(lambda: collections.defaultdict(set))})
        f["files"][ver] += 1
        f["kinds"][(ver, "M" if "-M-" in name else "O")] += 1
        sets = f["sets"]
        for message in ET.parse(path).getroot():
            for el in message.iter():
                v = el.get("value")
                en = enums.get(v, v) if v else v
                if el.tag == "Operation" and message.tag == "RequestMessage":
                    sets["Operations"][en].add(ver)
                elif el.tag == "ObjectType":
                    sets["Object types"][en].add(ver)
                elif el.tag == "KeyFormatType":
                    sets["Key formats"][en].add(ver)
                elif el.tag == "CryptographicAlgorithm":
                    sets["Cryptographic algorithms"][en].add(ver)
                elif el.tag in PARAMETERS:
                    sets["Other parameters"][f"{tags.get(el.tag, el.tag)}: {en}"].add(ver)
                if el.tag == "AttributeName" and v:
                    sets["Attributes"][re.sub(r"\s+", " ", v)].add(ver)
                if el.tag == "AttributeReference" and v:
                    sets["Attributes"][tags.get(v, v)].add(ver)
                if el.tag in ATTRIBUTE_CONTAINERS:
                    for child in el:
                        if child.tag == "Attribute":
                            vid = child.find("VendorIdentification")
                            an = child.find("AttributeName")
                            label = f"{vid.get('value')}-{an.get('value')}" if vid is not None and an is not None else "(vendor attribute)"
                            sets["Attributes"][label].add(ver)
                        else:
                            sets["Attributes"][tags.get(child.tag, child.tag)].add(ver)
    return facts


def listing(values, versions):
    out = []
    for name in sorted(values, key=str.lower):
        vs = sorted(values[name])
        out.append(name if vs == versions else f"{name} ({', '.join(vs)})")
    return "; ".join(out) if out else "none"


def main():
    root = sys.argv[1] if len(sys.argv) > 1 else os.path.join(HERE, "..", "..", "..", "shared", "kmip-vectors")
    facts = scan(root)
    for fam, f in facts.items():
        versions = sorted(f["files"])
        total = sum(f["files"].values())
        print(f"### {fam}\n")
        cells = ", ".join(
            f"{v}: {f['files'][v]} ({f['kinds'][(v, 'M')]} M, {f['kinds'][(v, 'O')]} O)" for v in versions)
        print(f"{total} files. By version: {cells}.\n")
        for cat in ["Operations", "Object types", "Key formats", "Cryptographic algorithms",
                    "Other parameters", "Attributes"]:
            print(f"- {cat}: {listing(f['sets'][cat], versions)}")
        print()


if __name__ == "__main__":
    main()
