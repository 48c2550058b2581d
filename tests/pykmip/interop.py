#!/usr/bin/env python3
"""Interoperability check of the KMS with the PyKMIP client (KMIP 1.2).

Runs create, get, activate, get_attributes, locate by name, register, revoke, destroy and a
get after destroy, then create_key_pair (RSA-2048), get of both keys, sign / signature_verify
(RSA-PSS) and RSA-OAEP encrypt / decrypt, against the server named on the command line, prints one line per check, and
exits non-zero when any check fails (or PyKMIP raises where it should not).

Usage: interop.py --port PORT --cert CLIENT.pem --key CLIENT.key --ca CA.pem [--host 127.0.0.1]
"""

import argparse
import sys
import uuid

from kmip.core import enums
from kmip.core.factories import attributes as attribute_factories
from kmip.pie import objects
from kmip.pie.client import ProxyKmipClient
from kmip.pie.exceptions import KmipOperationFailure

FAILURES = []


def check(condition, what):
    """Records and prints one check."""
    print(("ok    " if condition else "FAIL  ") + what, flush=True)
    if not condition:
        FAILURES.append(what)


def attribute_values(client, uid, names):
    """The values of the named attributes of `uid`, by attribute name."""
    got_uid, attrs = client.get_attributes(uid, names)
    check(got_uid == uid, "get_attributes answers for the UID asked")
    values = {}
    for attribute in attrs:
        values.setdefault(attribute.attribute_name.value, []).append(
            attribute.attribute_value
        )
    return values


def state(client, uid):
    values = attribute_values(client, uid, ["State"])
    states = values.get("State", [])
    return states[0].value if len(states) == 1 else None


def run(client):
    name = "pykmip-interop-" + str(uuid.uuid4())
    usage = [enums.CryptographicUsageMask.ENCRYPT, enums.CryptographicUsageMask.DECRYPT]

    # Create -> Pre-Active AES-256 key.
    uid = client.create(
        enums.CryptographicAlgorithm.AES, 256, name=name, cryptographic_usage_mask=usage
    )
    check(isinstance(uid, str) and uid != "", "create returns a Unique Identifier")
    check(state(client, uid) == enums.State.PRE_ACTIVE, "a created key is Pre-Active")

    # Get: the key itself.
    key = client.get(uid)
    check(isinstance(key, objects.SymmetricKey), "get returns a SymmetricKey")
    check(
        key.cryptographic_algorithm == enums.CryptographicAlgorithm.AES,
        "get: algorithm AES",
    )
    check(key.cryptographic_length == 256, "get: length 256")
    check(len(key.value) == 32, "get: 32 bytes of key material")

    # Activate.
    client.activate(uid)
    check(state(client, uid) == enums.State.ACTIVE, "activate makes the key Active")

    # Get Attributes: what Create set.
    values = attribute_values(
        client,
        uid,
        ["Cryptographic Algorithm", "Cryptographic Length", "Name", "Object Type"],
    )
    algorithm = [v.value for v in values.get("Cryptographic Algorithm", [])]
    length = [v.value for v in values.get("Cryptographic Length", [])]
    names = [v.name_value.value for v in values.get("Name", [])]
    object_type = [v.value for v in values.get("Object Type", [])]
    check(algorithm == [enums.CryptographicAlgorithm.AES], "get_attributes: algorithm")
    check(length == [256], "get_attributes: length")
    check(names == [name], "get_attributes: name")
    check(object_type == [enums.ObjectType.SYMMETRIC_KEY], "get_attributes: object type")

    # Locate by name: exactly this key; an unused name finds nothing.
    factory = attribute_factories.AttributeFactory()
    located = client.locate(
        attributes=[factory.create_attribute(enums.AttributeType.NAME, name)]
    )
    check(located == [uid], "locate by name finds exactly the key (got %r)" % (located,))
    nothing = client.locate(
        attributes=[factory.create_attribute(enums.AttributeType.NAME, name + "-unused")]
    )
    check(nothing == [], "locate by an unused name finds nothing (got %r)" % (nothing,))

    # Register a known key and read it back.
    material = bytes(range(16))
    registered = objects.SymmetricKey(
        enums.CryptographicAlgorithm.AES, 128, material, masks=usage, name=name + "-registered"
    )
    uid2 = client.register(registered)
    check(isinstance(uid2, str) and uid2 not in ("", uid), "register returns a new UID")
    back = client.get(uid2)
    check(
        isinstance(back, objects.SymmetricKey) and bytes(back.value) == material,
        "get returns the registered key material",
    )
    check(back.cryptographic_length == 128, "registered key: length 128")

    # Revoke, then Destroy; a Get after Destroy fails.
    client.revoke(enums.RevocationReasonCode.CESSATION_OF_OPERATION, uid)
    check(state(client, uid) == enums.State.DEACTIVATED, "revoke deactivates the key")
    client.destroy(uid)
    try:
        client.get(uid)
        check(False, "get after destroy fails")
    except KmipOperationFailure as e:
        check(e.status == enums.ResultStatus.OPERATION_FAILED, "get after destroy fails (%s)" % e.reason)
    client.destroy(uid2)
    try:
        client.get(uid2)
        check(False, "get of the destroyed registered key fails")
    except KmipOperationFailure:
        check(True, "get of the destroyed registered key fails")


def run_asymmetric(client):
    """Create Key Pair, Get, Sign / Signature Verify and RSA-OAEP with PyKMIP's client."""
    public_uid, private_uid = client.create_key_pair(
        enums.CryptographicAlgorithm.RSA,
        2048,
        public_usage_mask=[
            enums.CryptographicUsageMask.VERIFY,
            enums.CryptographicUsageMask.ENCRYPT,
        ],
        private_usage_mask=[
            enums.CryptographicUsageMask.SIGN,
            enums.CryptographicUsageMask.DECRYPT,
        ],
    )
    check(public_uid and private_uid and public_uid != private_uid, "create_key_pair returns two UIDs")
    public = client.get(public_uid)
    check(isinstance(public, objects.PublicKey), "get returns a PublicKey")
    check(public.cryptographic_length == 2048, "public key: length 2048")
    private = client.get(private_uid)
    check(isinstance(private, objects.PrivateKey), "get returns a PrivateKey")
    client.activate(public_uid)
    client.activate(private_uid)
    pss = {
        "cryptographic_algorithm": enums.CryptographicAlgorithm.RSA,
        "padding_method": enums.PaddingMethod.PSS,
        "hashing_algorithm": enums.HashingAlgorithm.SHA_256,
    }
    message = b"pykmip interop: sign me"
    signature = client.sign(message, uid=private_uid, cryptographic_parameters=pss)
    check(len(signature) == 256, "sign returns a 2048-bit signature")
    valid = client.signature_verify(message, signature, uid=public_uid, cryptographic_parameters=pss)
    check(valid == enums.ValidityIndicator.VALID, "signature_verify: valid")
    invalid = client.signature_verify(message + b"!", signature, uid=public_uid, cryptographic_parameters=pss)
    check(invalid == enums.ValidityIndicator.INVALID, "signature_verify of another message: invalid")
    oaep = {
        "cryptographic_algorithm": enums.CryptographicAlgorithm.RSA,
        "padding_method": enums.PaddingMethod.OAEP,
        "hashing_algorithm": enums.HashingAlgorithm.SHA_256,
    }
    ciphertext, _ = client.encrypt(message, uid=public_uid, cryptographic_parameters=oaep)
    check(len(ciphertext) == 256, "RSA-OAEP encrypt returns 256 bytes")
    plain = client.decrypt(ciphertext, uid=private_uid, cryptographic_parameters=oaep)
    check(bytes(plain) == message, "RSA-OAEP decrypt returns the message")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--cert", required=True)
    parser.add_argument("--key", required=True)
    parser.add_argument("--ca", required=True)
    args = parser.parse_args()
    client = ProxyKmipClient(
        hostname=args.host,
        port=args.port,
        cert=args.cert,
        key=args.key,
        ca=args.ca,
        kmip_version=enums.KMIPVersion.KMIP_1_2,
    )
    try:
        with client:
            run(client)
            run_asymmetric(client)
    except Exception as e:  # any PyKMIP failure is a failed interop check
        check(False, "PyKMIP raised %s: %s" % (type(e).__name__, e))
    print("%d failed" % len(FAILURES), flush=True)
    return 1 if FAILURES else 0


if __name__ == "__main__":
    sys.exit(main())
