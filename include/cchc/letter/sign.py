"""Optional digital signature of the PDF with a PKCS#12 certificate (pyHanko).

Configured by the environment (``CCHC_SIGNING_P12`` = path of the .p12/.pfx file,
``CCHC_SIGNING_PASSWORD``) or by authority.yaml::

    signing:
      p12: /run/secrets/tu-ky.p12          # relative paths are read from the authority's folder
      password_env: TU_KY_SIGNING_PASSWORD  # the password itself never goes into a YAML file

The environment wins. Without either, letters are not signed. The password is never logged.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from cchc.core import settings
from cchc.core.authorities import Authority
from cchc.core.files import atomic_path
from cchc.letter.errors import SigningError


@dataclass(frozen=True)
class SigningConfig:
    p12: Path
    password: bytes | None = field(default=None, repr=False)


def signing_config(
    authority: Authority | None = None, env: Mapping[str, str] | None = None
) -> SigningConfig | None:
    """The certificate to sign with, or None when signing is not configured.

    ``env`` stands for the environment (a test's own); by default the process's, through the settings.
    """
    environment = settings.Settings(dict(env)) if env is not None else settings.current()
    if environment.signing_p12:
        password = environment.signing_password
        return SigningConfig(environment.signing_p12, password.encode() if password else None)
    configured = (authority.extra.get("signing") if authority is not None else None) or None
    if configured is None or authority is None:
        return None
    where = f"{authority.folder / 'authority.yaml'}: signing"
    if not isinstance(configured, Mapping) or not configured.get("p12"):
        raise SigningError(f"{where}: cần khóa 'p12' (đường dẫn tệp chứng thư số .p12)")
    if "password" in configured:
        raise SigningError(
            f"{where}: không ghi mật khẩu vào tệp YAML; dùng 'password_env' (tên biến môi trường)"
        )
    p12 = Path(str(configured["p12"]))
    if not p12.is_absolute():
        p12 = authority.folder / p12
    password = None
    if configured.get("password_env"):
        name = str(configured["password_env"])
        value = environment.secret(name)
        if value is None:
            raise SigningError(f"{where}: biến môi trường {name} (mật khẩu chứng thư số) chưa được đặt")
        password = value.encode()
    return SigningConfig(p12, password)


def sign_pdf(
    pdf: str | Path,
    config: SigningConfig,
    *,
    signer_name: str | None = None,
    location: str | None = None,
    reason: str = "Ký số văn bản",
    field_name: str = "Signature1",
) -> Path:
    """Sign ``pdf`` in place (an incremental update, written atomically)."""
    from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
    from pyhanko.sign import signers

    pdf = Path(pdf)
    if not config.p12.is_file():
        raise SigningError(f"không tìm thấy tệp chứng thư số {config.p12}")
    try:
        signer = signers.SimpleSigner.load_pkcs12(pfx_file=str(config.p12), passphrase=config.password)
    except Exception as exc:  # pyHanko raises various errors for a wrong password or a bad file
        raise SigningError(
            f"không mở được chứng thư số {config.p12} (sai mật khẩu hoặc tệp hỏng): {exc}"
        ) from exc
    if signer is None:
        raise SigningError(f"không mở được chứng thư số {config.p12} (sai mật khẩu hoặc tệp hỏng)")
    meta = signers.PdfSignatureMetadata(
        field_name=field_name, reason=reason, location=location, name=signer_name
    )
    try:
        with atomic_path(pdf) as staging, pdf.open("rb") as source, staging.open("wb") as target:
            signers.sign_pdf(
                IncrementalPdfFileWriter(source, strict=False), meta, signer=signer, output=target
            )
    except SigningError:
        raise
    except Exception as exc:
        raise SigningError(f"không ký được {pdf.name} bằng {config.p12}: {exc}") from exc
    return pdf
