"""Verification of the signature parts (``FS``) of a set (batch.md §3, ``verify_signatures``).

An ``FS`` part holds a detached CMS/PKCS#7 ``SignedData`` (DER, or PEM armoured as
``PKCS7`` or ``CMS``) of the ``FI`` part with the same index. It is valid when one of its
signers is a certificate registered for the sender, that certificate is valid on the day
of reception, and its signature verifies: over the signed attributes (whose
``messageDigest`` must be the digest of the FI part) or, without signed attributes, over the
FI part's digest itself. The FI part is only ever hashed as a stream: :meth:`Signature.digest`
gives the hash object to feed it to.

The CMS structure is read with ``asn1crypto``; the keys and signatures are checked with
``cryptography`` (RSA PKCS#1 v1.5 or PSS, ECDSA).
"""

from __future__ import annotations

import base64
import hashlib
import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from asn1crypto import cms
from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from cryptography.hazmat.primitives.asymmetric.utils import Prehashed

_PEM = re.compile(rb"-----BEGIN (?:PKCS7|CMS)-----(.*?)-----END (?:PKCS7|CMS)-----", re.S)
_HASHES: dict[str, type[hashes.HashAlgorithm]] = {
    "sha1": hashes.SHA1,
    "sha224": hashes.SHA224,
    "sha256": hashes.SHA256,
    "sha384": hashes.SHA384,
    "sha512": hashes.SHA512,
}


class SignatureInvalid(Exception):
    """The signature part is not a valid signature of its FI part (ACRF-125)."""


def load_certificates(folder: Path, sender: str) -> list[x509.Certificate]:
    """The certificates registered for ``sender``: every PEM file in ``folder/<sender>/``
    (a file may hold several certificates)."""
    found: list[x509.Certificate] = []
    directory = folder / sender
    if not directory.is_dir():
        return found
    for path in sorted(directory.glob("*.pem")):
        try:
            found.extend(x509.load_pem_x509_certificates(path.read_bytes()))
        except ValueError:
            continue  # not a certificate file: it registers nothing
    return found


def _der(data: bytes) -> bytes:
    armoured = _PEM.search(data)
    if armoured is None:
        return data
    return base64.b64decode(b"".join(armoured.group(1).split()))


@dataclass(frozen=True)
class _Signer:
    info: Any  # cms.SignerInfo
    hash_name: str


class Signature:
    """A parsed detached signature, to be checked against its FI part's digest."""

    def __init__(self, data: bytes) -> None:
        if not data.strip():
            raise SignatureInvalid("empty signature")
        try:
            content = cms.ContentInfo.load(_der(data))
            if content["content_type"].native != "signed_data":
                raise SignatureInvalid("not a CMS SignedData")
            signed = content["content"]
            if signed["encap_content_info"]["content"].native is not None:
                raise SignatureInvalid("not a detached signature (it holds its content)")
            signers = [
                _Signer(info, info["digest_algorithm"]["algorithm"].native)
                for info in signed["signer_infos"]
            ]
        except SignatureInvalid:
            raise
        except (ValueError, TypeError, KeyError) as exc:
            raise SignatureInvalid(f"not a CMS signature ({exc})") from None
        if not signers:
            raise SignatureInvalid("no signer")
        unknown = {s.hash_name for s in signers} - set(_HASHES)
        if unknown:
            raise SignatureInvalid(f"digest algorithm {', '.join(sorted(unknown))} not accepted")
        self._signers = signers

    def hash_names(self) -> set[str]:
        """The digests of the FI part the signers need (feed :meth:`digest` objects)."""
        return {s.hash_name for s in self._signers}

    @staticmethod
    def digest(name: str) -> Any:
        return hashlib.new(name)

    def verify(
        self,
        digests: dict[str, bytes],
        certificates: Sequence[x509.Certificate],
        at: datetime,
    ) -> x509.Certificate:
        """The registered certificate whose signature verifies against the FI part's
        ``digests`` (hash name -> digest); raises :class:`SignatureInvalid` otherwise."""
        reasons: list[str] = []
        for signer in self._signers:
            certificate = _certificate_of(signer.info["sid"], certificates)
            if certificate is None:
                reasons.append("the signer is not a certificate registered for the sender")
                continue
            if not (certificate.not_valid_before_utc <= at <= certificate.not_valid_after_utc):
                reasons.append(
                    f"certificate {certificate.serial_number:x} is not valid on {at:%Y-%m-%d}"
                )
                continue
            try:
                _check(signer, certificate, digests[signer.hash_name])
            except SignatureInvalid as exc:
                reasons.append(str(exc))
                continue
            return certificate
        raise SignatureInvalid("; ".join(dict.fromkeys(reasons)))


def _certificate_of(sid: Any, certificates: Sequence[x509.Certificate]) -> x509.Certificate | None:
    if sid.name == "issuer_and_serial_number":
        issuer = sid.chosen["issuer"].dump()
        serial = sid.chosen["serial_number"].native
        for certificate in certificates:
            if certificate.serial_number == serial and certificate.issuer.public_bytes() == issuer:
                return certificate
        return None
    key_id = sid.chosen.native
    for certificate in certificates:
        try:
            ski = certificate.extensions.get_extension_for_class(x509.SubjectKeyIdentifier)
        except x509.ExtensionNotFound:
            continue
        if ski.value.digest == key_id:
            return certificate
    return None


def _check(signer: _Signer, certificate: x509.Certificate, content_digest: bytes) -> None:
    info = signer.info
    algorithm = _HASHES[signer.hash_name]()
    attributes = info["signed_attrs"]
    if attributes.native is not None and len(attributes):
        values = {a["type"].native: a["values"] for a in attributes}
        if "message_digest" not in values:
            raise SignatureInvalid("signed attributes without a message digest")
        if values["message_digest"][0].native != content_digest:
            raise SignatureInvalid("the FI part is not the content that was signed")
        # The signature covers the DER of the attributes as a SET (RFC 5652 §5.4).
        signed = b"\x31" + attributes.dump()[1:]
        prehashed = False
    else:
        signed = content_digest
        prehashed = True
    signature = info["signature"].native
    key = certificate.public_key()
    scheme = info["signature_algorithm"].signature_algo
    chosen: Any = Prehashed(algorithm) if prehashed else algorithm
    try:
        if isinstance(key, rsa.RSAPublicKey) and scheme == "rsassa_pkcs1v15":
            key.verify(signature, signed, padding.PKCS1v15(), chosen)
        elif isinstance(key, rsa.RSAPublicKey) and scheme == "rsassa_pss":
            pss = padding.PSS(padding.MGF1(algorithm), padding.PSS.AUTO)
            key.verify(signature, signed, pss, chosen)
        elif isinstance(key, ec.EllipticCurvePublicKey) and scheme == "ecdsa":
            key.verify(signature, signed, ec.ECDSA(chosen))
        else:
            raise SignatureInvalid(f"signature algorithm {scheme} not accepted for this key")
    except InvalidSignature:
        raise SignatureInvalid("the signature does not verify") from None
