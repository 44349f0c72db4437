"""helpers.image.certs on the machine's real CA bundle and damaged copies of it, with
OpenSSL as the independent count."""

from __future__ import annotations

import re
import ssl

from helpers.image.certs import CaBundle, looks_like_x509, parse_ca_bundle

from .conftest import SYSTEM_BUNDLE


def _corrupt(block: bytes) -> bytes:
    """The block with one base64 line replaced by characters base64 does not have."""
    lines = block.split(b"\n")
    lines[3] = b"!" * len(lines[3])
    return b"\n".join(lines)


def test_system_bundle_counts(system_bundle):
    expected = system_bundle.count(b"-----BEGIN CERTIFICATE-----")
    assert expected > 100
    bundle = parse_ca_bundle(system_bundle, str(SYSTEM_BUNDLE))
    assert bundle == CaBundle(path=str(SYSTEM_BUNDLE), certificates=expected, invalid_blocks=0,
                              size_bytes=len(system_bundle),
                              checked_paths=[str(SYSTEM_BUNDLE)],
                              unique_certificates=bundle.unique_certificates)
    # OpenSSL's view of the same file: distinct certificates it loaded
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    context.load_verify_locations(cafile=str(SYSTEM_BUNDLE))
    assert bundle.unique_certificates == context.cert_store_stats()["x509"]


def test_corrupted_blocks_are_invalid(system_bundle):
    blocks = re.findall(rb"-----BEGIN CERTIFICATE-----\n.*?-----END CERTIFICATE-----\n",
                        system_bundle, re.DOTALL)
    bad_base64 = _corrupt(blocks[0])
    lines = blocks[1].split(b"\n")
    truncated = b"\n".join(lines[:3] + lines[4:])  # valid base64, DER lengths no longer add up
    data = b"".join(blocks[:5]) + bad_base64 + truncated
    bundle = parse_ca_bundle(data, "/x.pem")
    assert (bundle.certificates, bundle.invalid_blocks) == (5, 2)
    assert parse_ca_bundle(b"".join(blocks[:5]) + bad_base64, "/x.pem").invalid_blocks == 1


def test_other_pem_types_and_text_are_ignored(system_bundle):
    block = re.search(rb"-----BEGIN CERTIFICATE-----\n.*?-----END CERTIFICATE-----\n",
                      system_bundle, re.DOTALL)[0]
    body = block.split(b"-----")[2]
    data = (b"# comment lines, as in Debian's bundle\n" + block
            + b"-----BEGIN TRUSTED CERTIFICATE-----" + body + b"-----END TRUSTED CERTIFICATE-----\n"
            + b"-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n"
            + block.replace(b"\n", b"\r\n"))
    bundle = parse_ca_bundle(data, "/b.pem")
    assert (bundle.certificates, bundle.invalid_blocks, bundle.unique_certificates) == (2, 0, 1)


def test_empty_bundle():
    assert parse_ca_bundle(b"", "/e.pem") == CaBundle("/e.pem", 0, 0, 0, ["/e.pem"], 0)


def test_looks_like_x509_shapes(system_bundle):
    block = re.search(rb"-----BEGIN CERTIFICATE-----\n(.*?)-----END", system_bundle,
                      re.DOTALL)[1]
    der = ssl.PEM_cert_to_DER_cert(
        "-----BEGIN CERTIFICATE-----\n" + block.decode() + "-----END CERTIFICATE-----\n")
    assert looks_like_x509(der)
    assert not looks_like_x509(der[:-1])
    assert not looks_like_x509(der + b"\0")
    assert not looks_like_x509(b"\x30\x00")
    assert not looks_like_x509(b"")
