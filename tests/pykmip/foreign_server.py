"""A PyKMIP server standing in for a foreign KMIP server (the inbound migration test).

Makes its own PKI in --dir (a CA, an ECDSA P-256 server certificate for 127.0.0.1 and a client
certificate with the clientAuth EKU and a Common Name, which PyKMIP takes as the client's
identity), binds a free port on 127.0.0.1, prints one line `listening PORT` on stdout, then
serves until its standard input ends (the test closes it, or dies), and stops cleanly: PyKMIP
runs a multiprocessing Manager process that a SIGKILL of this one would leave behind. Files in
--dir: ca.pem, server.pem, server.key, client.pem, client.key, pykmip.db, server.log.
"""

import argparse
import datetime
import ipaddress
import os
import signal
import socket
import sys
import threading

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID


def write_key(path, key):
    with open(path, "wb") as f:
        f.write(key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        ))
    os.chmod(path, 0o600)


def write_cert(path, cert):
    with open(path, "wb") as f:
        f.write(cert.public_bytes(serialization.Encoding.PEM))


def make_pki(d):
    now = datetime.datetime.now(datetime.timezone.utc)
    start, end = now - datetime.timedelta(days=1), now + datetime.timedelta(days=30)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "foreign kmip test CA")])
    ca = (x509.CertificateBuilder()
          .subject_name(ca_name).issuer_name(ca_name)
          .public_key(ca_key.public_key())
          .serial_number(x509.random_serial_number())
          .not_valid_before(start).not_valid_after(end)
          .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
          .add_extension(x509.KeyUsage(False, False, False, False, False, True, True, False,
                                       False), critical=True)
          .add_extension(x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key()),
                         critical=False)
          .sign(ca_key, hashes.SHA256()))
    write_cert(os.path.join(d, "ca.pem"), ca)

    def leaf(name, eku, san):
        key = ec.generate_private_key(ec.SECP256R1())
        builder = (x509.CertificateBuilder()
                   .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)]))
                   .issuer_name(ca_name)
                   .public_key(key.public_key())
                   .serial_number(x509.random_serial_number())
                   .not_valid_before(start).not_valid_after(end)
                   .add_extension(x509.BasicConstraints(ca=False, path_length=None),
                                  critical=True)
                   .add_extension(x509.KeyUsage(True, False, False, False, False, False, False,
                                                False, False), critical=True)
                   .add_extension(x509.ExtendedKeyUsage([eku]), critical=False)
                   .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(
                       ca_key.public_key()), critical=False))
        if san is not None:
            builder = builder.add_extension(x509.SubjectAlternativeName(san), critical=False)
        return key, builder.sign(ca_key, hashes.SHA256())

    key, cert = leaf("127.0.0.1", ExtendedKeyUsageOID.SERVER_AUTH,
                     [x509.IPAddress(ipaddress.ip_address("127.0.0.1")),
                      x509.DNSName("localhost")])
    write_key(os.path.join(d, "server.key"), key)
    write_cert(os.path.join(d, "server.pem"), cert)
    key, cert = leaf("migration-client", ExtendedKeyUsageOID.CLIENT_AUTH, None)
    write_key(os.path.join(d, "client.key"), key)
    write_cert(os.path.join(d, "client.pem"), cert)


def free_port():
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--dir", required=True)
    args = parser.parse_args()
    d = os.path.abspath(args.dir)
    os.makedirs(d, exist_ok=True)
    make_pki(d)
    policies = os.path.join(d, "policies")
    os.makedirs(policies, exist_ok=True)

    from kmip.services.server import KmipServer

    port = free_port()
    server = KmipServer(
        hostname="127.0.0.1",
        port=port,
        certificate_path=os.path.join(d, "server.pem"),
        key_path=os.path.join(d, "server.key"),
        ca_path=os.path.join(d, "ca.pem"),
        auth_suite="TLS1.2",
        config_path=None,
        log_path=os.path.join(d, "server.log"),
        policy_path=policies,
        enable_tls_client_auth=True,
        tls_cipher_suites=("TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256,"
                           "TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384"),
        logging_level="DEBUG",
        database_path=os.path.join(d, "pykmip.db"),
    )
    def stop_when_stdin_ends():
        sys.stdin.read()
        # PyKMIP's serve() ends on SIGINT (its handler raises KeyboardInterrupt).
        os.kill(os.getpid(), signal.SIGINT)

    try:
        with server:
            threading.Thread(target=stop_when_stdin_ends, daemon=True).start()
            print("listening {0}".format(port), flush=True)
            server.serve()
    finally:
        manager = getattr(server, "manager", None)
        if manager is not None:
            manager.shutdown()


if __name__ == "__main__":
    sys.exit(main())
