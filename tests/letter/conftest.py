"""Letter fixtures: the seed and a province after 2025, rendered once per session with real LibreOffice.

LibreOffice is slow to start, so each scenario is converted to PDF once (session scope) and every
test reads the same files; tests that need a variant render the DOCX only (``pdf=False``). A test that
uses ``seed_letter`` or ``province_letter`` is marked ``libreoffice`` (tests/support/fixtures.py).
"""

from __future__ import annotations

import datetime as dt
import shutil

import pytest
from support.letters import P12_PASSWORD
from support.paths import PROVINCE_AUTHORITY, PROVINCE_DECISIONS, SEED_AUTHORITY, SEED_DECISIONS

from cchc.letter.render import render_letter


@pytest.fixture(scope="session")
def seed_letter(tmp_path_factory):
    """The seed letter rendered from the hand-made decisions: DOCX, PDF and chart (one conversion)."""
    out = tmp_path_factory.mktemp("seed-output")
    return render_letter(SEED_DECISIONS, SEED_AUTHORITY, out, run_id="manual__2023-09-01")


@pytest.fixture(scope="session")
def certificate(tmp_path_factory):
    """A self-signed signing certificate as PKCS#12 (and its PEM, the trust root of the validation)."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import rsa
    from cryptography.hazmat.primitives.serialization import pkcs12
    from cryptography.x509.oid import NameOID

    folder = tmp_path_factory.mktemp("certificate")
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    name = x509.Name(
        [
            x509.NameAttribute(NameOID.COUNTRY_NAME, "VN"),
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, "UBND tỉnh Quảng Ninh (thử)"),
            x509.NameAttribute(NameOID.COMMON_NAME, "Trần Văn Nam"),
        ]
    )
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(days=1))
        .not_valid_after(now + dt.timedelta(days=30))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=True,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=True,
                crl_sign=True,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .sign(key, hashes.SHA256())
    )
    p12 = folder / "signer.p12"
    p12.write_bytes(
        pkcs12.serialize_key_and_certificates(
            b"signer", key, cert, None, serialization.BestAvailableEncryption(P12_PASSWORD.encode())
        )
    )
    pem = folder / "signer.pem"
    pem.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    return {"p12": p12, "pem": pem, "password": P12_PASSWORD}


@pytest.fixture(scope="session")
def province_letter(tmp_path_factory, certificate):
    """A province after 2025, signed through authority.yaml's ``signing:`` block (one conversion)."""
    folder = tmp_path_factory.mktemp("province-config") / "quang-ninh"
    shutil.copytree(PROVINCE_AUTHORITY, folder)
    shutil.copy(certificate["p12"], folder / "signer.p12")
    with (folder / "authority.yaml").open("a", encoding="utf-8") as handle:
        handle.write("signing:\n  p12: signer.p12\n  password_env: CCHC_TEST_QN_P12_PASSWORD\n")
    out = tmp_path_factory.mktemp("province-output")
    patch = pytest.MonkeyPatch()
    patch.delenv("CCHC_SIGNING_P12", raising=False)
    patch.setenv("CCHC_TEST_QN_P12_PASSWORD", certificate["password"])
    try:
        return render_letter(PROVINCE_DECISIONS, folder, out, run_id="scheduled__2025-09-01")
    finally:
        patch.undo()


@pytest.fixture(autouse=True)
def _no_signing_from_the_developer_shell(monkeypatch):
    """A developer's CCHC_SIGNING_P12 would sign every test letter."""
    monkeypatch.delenv("CCHC_SIGNING_P12", raising=False)
    monkeypatch.delenv("CCHC_SIGNING_PASSWORD", raising=False)
    monkeypatch.delenv("CCHC_SOFFICE", raising=False)
