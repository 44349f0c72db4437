"""The CA bundle a Go program loads: where Go looks for it, and how many roots it holds.

A ``FROM scratch`` image without ``/etc/ssl/certs/ca-certificates.crt`` makes every HTTPS
call of the server fail, so the checks count the certificates Go would trust.
:data:`GO_CERT_FILES` is Go's search order; :func:`parse_ca_bundle` counts a bundle's
certificates as Go's ``AppendCertsFromPEM`` would. Pure: bytes in, counts out, no engine
(:func:`helpers.image.files.find_ca_bundle` fetches the bundle from an image).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import re
from dataclasses import dataclass
from typing import Callable

#: The files Go's crypto/x509 tries on Linux, in order (root_linux.go); the first that can be
#: read is loaded, the others are ignored. ``SSL_CERT_FILE`` replaces this list.
GO_CERT_FILES: tuple[str, ...] = (
    "/etc/ssl/certs/ca-certificates.crt",                # Debian/Ubuntu/Gentoo etc.
    "/etc/pki/tls/certs/ca-bundle.crt",                  # Fedora/RHEL 6
    "/etc/ssl/ca-bundle.pem",                            # OpenSUSE
    "/etc/pki/tls/cacert.pem",                           # OpenELEC
    "/etc/pki/ca-trust/extracted/pem/tls-ca-bundle.pem",  # CentOS/RHEL 7
    "/etc/ssl/cert.pem",                                 # Alpine Linux
)

_PEM_BLOCK_RE = re.compile(
    rb"-----BEGIN ([A-Z0-9 ]+)-----\r?\n(.*?)-----END \1-----", re.DOTALL)


@dataclass
class CaBundle:
    """The CA bundle a Go program in the image would load, and how many roots it holds.

    Attributes:
        path: The first of :data:`GO_CERT_FILES` that exists in the image, None if none does
            (then a Go program has no trusted roots and every HTTPS call fails).
        certificates: PEM ``CERTIFICATE`` blocks that decode to a well-formed DER X.509
            certificate (the blocks Go's ``AppendCertsFromPEM`` would add).
        invalid_blocks: ``CERTIFICATE`` blocks that do not (bad base64, not DER, truncated).
        size_bytes: Size of the bundle file.
        checked_paths: The paths looked at, in order, the found one last.
        unique_certificates: Distinct valid certificates (Go's pool, and so the server's
            ``/health`` ``ca_roots``, counts a duplicate once).
    """

    path: str | None
    certificates: int
    invalid_blocks: int
    size_bytes: int
    checked_paths: list[str]
    unique_certificates: int = 0


def _der_length(der: bytes, pos: int) -> tuple[int, int] | None:
    """(length, offset of contents) of the DER element whose length octets start at ``pos``."""
    if pos >= len(der):
        return None
    first = der[pos]
    if first < 0x80:
        return first, pos + 1
    count = first & 0x7F
    if count == 0 or count > 4 or pos + 1 + count > len(der):  # indefinite or absurd
        return None
    return int.from_bytes(der[pos + 1:pos + 1 + count], "big"), pos + 1 + count


def looks_like_x509(der: bytes) -> bool:
    """True if ``der`` has the outer shape of an X.509 certificate.

    ``SEQUENCE { tbsCertificate SEQUENCE, signatureAlgorithm SEQUENCE, signature BIT STRING }``
    with definite lengths that add up exactly to the bytes given. A structural check, not a
    full parse: enough to tell a certificate from damaged or truncated base64.
    """
    if len(der) < 2 or der[0] != 0x30:
        return False
    outer = _der_length(der, 1)
    if outer is None or outer[1] + outer[0] != len(der):
        return False
    pos, expected_tags = outer[1], (0x30, 0x30, 0x03)
    for tag in expected_tags:
        if pos >= len(der) or der[pos] != tag:
            return False
        element = _der_length(der, pos + 1)
        if element is None:
            return False
        pos = element[1] + element[0]
        if pos > len(der):
            return False
    return pos == len(der)


def parse_ca_bundle(data: bytes, path: str) -> CaBundle:
    """Count the certificates of a PEM bundle, as Go's ``AppendCertsFromPEM`` would see them.

    Only ``-----BEGIN CERTIFICATE-----`` blocks count (Go skips other types such as
    ``TRUSTED CERTIFICATE`` or keys). A block is valid if its body is strict base64 and the
    DER has the shape of an X.509 certificate (:func:`looks_like_x509`).

    Args:
        data: The bundle's bytes.
        path: Where it came from.

    Returns:
        A :class:`CaBundle` with ``checked_paths == [path]``.
    """
    valid = invalid = 0
    digests: set[bytes] = set()
    for match in _PEM_BLOCK_RE.finditer(data):
        if match[1] != b"CERTIFICATE":
            continue
        body = b"".join(match[2].split())
        try:
            der = base64.b64decode(body, validate=True)
        except (binascii.Error, ValueError):
            der = b""
        if der and looks_like_x509(der):
            valid += 1
            digests.add(hashlib.sha256(der).digest())
        else:
            invalid += 1
    return CaBundle(path=path, certificates=valid, invalid_blocks=invalid,
                    size_bytes=len(data), checked_paths=[path],
                    unique_certificates=len(digests))


def first_ca_bundle(read: Callable[[str], bytes | None]) -> CaBundle:
    """The bundle Go would load: the first of :data:`GO_CERT_FILES` that ``read`` returns
    bytes for (None: absent, or a dangling link), parsed; ``path`` None when there is none.

    Go stops at the first file it can read, so this does too. Shared by the engine's image
    (:func:`helpers.image.files.find_ca_bundle`) and one built without an engine.
    """
    checked: list[str] = []
    for path in GO_CERT_FILES:
        checked.append(path)
        data = read(path)
        if data is not None:
            bundle = parse_ca_bundle(data, path)
            bundle.checked_paths = checked
            return bundle
    return CaBundle(path=None, certificates=0, invalid_blocks=0, size_bytes=0,
                    checked_paths=list(GO_CERT_FILES))
