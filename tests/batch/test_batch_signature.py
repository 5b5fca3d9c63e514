"""Signature parts (FS) verified against the sender's registered certificates
(``verify_signatures``): detached CMS/PKCS#7 signatures made with ``cryptography``, checked
by the domain and end to end by a running batch service (ACRF 1, or ACRF-125 with why)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from batch.batch_fixtures import (
    TODAY,
    assert_valid,
    publish_batch_reference_data,
    simple_dimona,
    start_batch,
    stop_batch,
)
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.hazmat.primitives.serialization import pkcs7
from cryptography.x509.oid import NameOID
from dimona.dimona_fixtures import set_clock

from socsec.batch.domain.signature import Signature, SignatureInvalid, load_certificates

NOW = datetime(2026, 6, 1, 10, 0, tzinfo=UTC)
CONTENT = b"<Dimona>\n  declarations\n</Dimona>\n"


def certificate(key, name: str, *, days: int = 365) -> x509.Certificate:
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
    return (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(NOW - timedelta(days=30))
        .not_valid_after(NOW + timedelta(days=days - 30))
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), False)
        .sign(key, hashes.SHA256())
    )


EC_KEY = ec.generate_private_key(ec.SECP256R1())
EC_CERT = certificate(EC_KEY, "sender 054321 (EC)")
RSA_KEY = rsa.generate_private_key(public_exponent=65537, key_size=2048)
RSA_CERT = certificate(RSA_KEY, "sender 054321 (RSA)")
OTHER_KEY = ec.generate_private_key(ec.SECP256R1())
OTHER_CERT = certificate(OTHER_KEY, "someone else")


def sign(
    content: bytes,
    cert=EC_CERT,
    key=EC_KEY,
    *,
    encoding=serialization.Encoding.DER,
    attributes: bool = True,
    detached: bool = True,
) -> bytes:
    # Binary: the bytes as they are (no MIME canonicalisation of line ends).
    options = [pkcs7.PKCS7Options.Binary]
    if detached:
        options.append(pkcs7.PKCS7Options.DetachedSignature)
    if not attributes:
        options.append(pkcs7.PKCS7Options.NoAttributes)
    builder = pkcs7.PKCS7SignatureBuilder().set_data(content).add_signer(cert, key, hashes.SHA256())
    return builder.sign(encoding, options)


def verify(signature: bytes, content: bytes = CONTENT, certificates=(EC_CERT, RSA_CERT), at=NOW):
    parsed = Signature(signature)
    digests = {}
    for name in parsed.hash_names():
        hasher = Signature.digest(name)
        for start in range(0, len(content), 7):  # fed in pieces, as from the store
            hasher.update(content[start : start + 7])
        digests[name] = hasher.digest()
    return parsed.verify(digests, list(certificates), at)


def test_valid_signatures_verify_in_der_and_pem_with_rsa_and_ec() -> None:
    assert verify(sign(CONTENT)) == EC_CERT
    assert verify(sign(CONTENT, RSA_CERT, RSA_KEY, encoding=serialization.Encoding.PEM)) == (
        RSA_CERT
    )
    # Without signed attributes the signature covers the content's digest itself.
    assert verify(sign(CONTENT, RSA_CERT, RSA_KEY, attributes=False)) == RSA_CERT
    assert verify(sign(CONTENT, attributes=False)) == EC_CERT


@pytest.mark.parametrize(
    ("signature", "content", "certificates", "at", "reason"),
    [
        (sign(CONTENT), CONTENT + b" ", None, NOW, "not the content that was signed"),
        (sign(CONTENT, attributes=False), b"other", None, NOW, "does not verify"),
        (sign(CONTENT, OTHER_CERT, OTHER_KEY), CONTENT, None, NOW, "not a certificate registered"),
        (sign(CONTENT), CONTENT, None, NOW + timedelta(days=400), "is not valid on"),
        (sign(CONTENT, detached=False), CONTENT, None, NOW, "not a detached signature"),
        (b"signature", CONTENT, None, NOW, "not a CMS signature"),
        (b"  ", CONTENT, None, NOW, "empty signature"),
    ],
)
def test_invalid_signatures_say_why(signature, content, certificates, at, reason) -> None:
    with pytest.raises(SignatureInvalid, match=reason):
        verify(signature, content, certificates or (EC_CERT, RSA_CERT), at)


def test_certificates_are_the_pem_files_of_the_sender_folder(tmp_path: Path) -> None:
    folder = tmp_path / "054321"
    folder.mkdir()
    pem = serialization.Encoding.PEM
    (folder / "both.pem").write_bytes(EC_CERT.public_bytes(pem) + RSA_CERT.public_bytes(pem))
    (folder / "notes.pem").write_text("not a certificate")
    (folder / "other.txt").write_bytes(OTHER_CERT.public_bytes(pem))
    assert load_certificates(tmp_path, "054321") == [EC_CERT, RSA_CERT]
    assert load_certificates(tmp_path, "012345") == []


@pytest.fixture
async def verifying(env, tmp_path):
    certificates = tmp_path / "certificates"
    (certificates / "054321").mkdir(parents=True)
    (certificates / "054321" / "sender.pem").write_bytes(
        EC_CERT.public_bytes(serialization.Encoding.PEM)
    )
    await publish_batch_reference_data(env)
    await set_clock(env, "2026-06-01T10:00:00")
    batch = await start_batch(
        env, tmp_path / "transfer", verify_signatures=True, certificates_dir=certificates
    )
    yield batch
    await stop_batch(batch)


async def _send(batch, key: str, parts: list[bytes], signatures: list[bytes]) -> str:
    total = len(parts)
    for index, (content, signature) in enumerate(zip(parts, signatures, strict=True), 1):
        assert (await batch.put(f"FI.{key}.{total}.{index}", content)).status_code == 201
        assert (await batch.put(f"FS.{key}.{total}.{index}", signature)).status_code == 201
    response = await batch.put(f"GO.{key}.{total}")
    assert response.status_code == 202, response.text
    return response.json()["ticket"]


async def test_signed_sets_are_accepted_and_bad_signatures_refused(verifying) -> None:
    batch = verifying
    content = simple_dimona(2)
    first, second = content[:300], content[300:]
    ticket = await _send(
        batch, f"DIMN.054321.{TODAY}.00001.R", [first, second], [sign(first), sign(second)]
    )
    body = await batch.acrf(ticket)
    assert body["acrf"]["resultCode"] == 1 and body["forms"]["count"] == 2, body["acrf"]

    # Part 2's signature is of other bytes: the set is refused and nothing is read.
    ticket = await _send(
        batch, f"DIMN.054321.{TODAY}.00002.R", [first, second], [sign(first), sign(first)]
    )
    body = await batch.acrf(ticket)
    assert body["acrf"]["resultCode"] == 0
    assert [e["id"] for e in body["acrf"]["errors"]] == ["ACRF-125"]
    assert body["acrf"]["detail"] == (
        f"FS.DIMN.054321.{TODAY}.00002.R.2.2: the FI part is not the content that was signed"
    )
    assert body["forms"]["count"] is None
    acrf = assert_valid(await batch.out(body["acrf"]["fileName"]), "ACRF_20231.xsd")
    assert acrf.findtext("Form/ReceptionResult/ErrorID") == "ACRF-125"

    # A valid signature by a certificate the sender did not register: refused too.
    ticket = await _send(
        batch,
        f"DIMN.054321.{TODAY}.00003.R",
        [content],
        [sign(content, OTHER_CERT, OTHER_KEY)],
    )
    body = await batch.acrf(ticket)
    assert [e["id"] for e in body["acrf"]["errors"]] == ["ACRF-125"]
    assert "not a certificate registered for the sender" in body["acrf"]["detail"]

    # Test files need no signature (signature_required_envs = R): not verified.
    ticket = await _send(batch, f"DIMN.054321.{TODAY}.00004.T", [content], [b"anything"])
    assert (await batch.acrf(ticket))["acrf"]["resultCode"] == 1
