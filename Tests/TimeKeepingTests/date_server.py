#!/usr/bin/env python3
"""An HTTPS server for the clock tests: Python's http.server behind TLS, with a certificate
(from a CA of its own, made with `cryptography`) whose validity starts where the test says,
and a `Date` header the test chooses. Prints one JSON line when it listens:
{"port": N, "ca": PATH}. Serves until killed."""
import argparse
import datetime
import http.server
import json
import os
import ssl
import sys
import time

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID


def certificate(subject, issuer, key, signer, not_before, ca):
    builder = (x509.CertificateBuilder().subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, subject)]))
               .issuer_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, issuer)]))
               .public_key(key.public_key()).serial_number(x509.random_serial_number())
               .not_valid_before(not_before).not_valid_after(not_before + datetime.timedelta(days=365)))
    if ca:
        builder = builder.add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
    else:
        import ipaddress
        builder = builder.add_extension(x509.SubjectAlternativeName([x509.DNSName("localhost"),
                                                                     x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), critical=False)
    return builder.sign(signer, hashes.SHA256())


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--dir", required=True)
    parser.add_argument("--not-before", type=float, default=time.time() - 3600, help="seconds since 1970")
    parser.add_argument("--date-offset", type=float, default=0, help="the Date header is the host's time plus this")
    parser.add_argument("--no-date", action="store_true")
    args = parser.parse_args()
    not_before = datetime.datetime.fromtimestamp(args.not_before, datetime.timezone.utc)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca = certificate("Clock test CA", "Clock test CA", ca_key, ca_key, not_before, True)
    server_key = ec.generate_private_key(ec.SECP256R1())
    server = certificate("localhost", "Clock test CA", server_key, ca_key, not_before, False)
    paths = {name: os.path.join(args.dir, name) for name in ("ca.pem", "server.pem", "server.key")}
    with open(paths["ca.pem"], "wb") as f:
        f.write(ca.public_bytes(serialization.Encoding.PEM))
    with open(paths["server.pem"], "wb") as f:
        f.write(server.public_bytes(serialization.Encoding.PEM))
    with open(paths["server.key"], "wb") as f:
        f.write(server_key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()))

    class Handler(http.server.BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def date_time_string(self, timestamp=None):
            return super().date_time_string(time.time() + args.date_offset)

        def send_header(self, keyword, value):
            if not (args.no_date and keyword == "Date"):
                super().send_header(keyword, value)

        def do_HEAD(self):
            self.send_response(200)
            self.send_header("Content-Length", "0")
            self.send_header("Connection", "close")
            self.end_headers()

        def log_message(self, *_):
            pass

    httpd = http.server.HTTPServer(("127.0.0.1", 0), Handler)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(paths["server.pem"], paths["server.key"])
    httpd.socket = context.wrap_socket(httpd.socket, server_side=True)
    print(json.dumps({"port": httpd.server_address[1], "ca": paths["ca.pem"]}), flush=True)
    httpd.serve_forever()


if __name__ == "__main__":
    sys.exit(main())
