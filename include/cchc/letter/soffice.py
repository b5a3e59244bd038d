"""One LibreOffice process per conversion: finding soffice, and ``soffice --convert-to`` for one document.

This is the path ``cchc.letter.pdf.to_pdf`` takes when the converter session (``cchc.letter.office``)
is turned off or cannot start, and the baseline of the rendering bench. The soffice runs with a
private user profile (``-env:UserInstallation``), so two tasks converting at once never share, lock or
corrupt a profile, and a crashed run leaves nothing behind; a timeout kills its process group.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import tempfile
from pathlib import Path

from cchc.core import settings
from cchc.core.files import atomic_path
from cchc.letter.errors import PdfConversionError

SOFFICE_ENV = settings.SOFFICE
DEFAULT_TIMEOUT = 180.0


def find_soffice(soffice: str | None = None) -> str:
    """The soffice executable: the argument, $CCHC_SOFFICE, or soffice/libreoffice on the PATH."""
    candidate = soffice or settings.current().soffice
    if candidate:
        resolved = shutil.which(candidate)
        if resolved is None:
            raise PdfConversionError(
                f"không tìm thấy LibreOffice: '{candidate}' không chạy được (kiểm tra {SOFFICE_ENV} hoặc cài "
                "gói libreoffice-writer-nogui)"
            )
        return resolved
    for name in ("soffice", "libreoffice"):
        resolved = shutil.which(name)
        if resolved:
            return resolved
    raise PdfConversionError(
        "không tìm thấy LibreOffice (soffice) trên PATH: cài gói libreoffice-writer-nogui hoặc đặt "
        f"{SOFFICE_ENV} là đường dẫn tới soffice"
    )


def tail(text: bytes | str | None, limit: int = 2000) -> str:
    if not text:
        return "(trống)"
    if isinstance(text, bytes):
        text = text.decode("utf-8", errors="replace")
    text = text.strip()
    return text[-limit:] if text else "(trống)"


def convert_in_process(
    docx: str | Path, pdf: str | Path, *, timeout: float = DEFAULT_TIMEOUT, soffice: str | None = None
) -> Path:
    """One ``soffice --convert-to`` for this document; raises PdfConversionError naming the command."""
    docx = Path(docx).resolve()
    pdf = Path(pdf)
    if not docx.is_file():
        raise PdfConversionError(f"không có tệp để chuyển sang PDF: {docx}")
    executable = find_soffice(soffice)
    profile = Path(tempfile.mkdtemp(prefix="cchc-lo-profile-"))
    outdir = Path(tempfile.mkdtemp(prefix="cchc-lo-out-"))
    command = [
        executable,
        f"-env:UserInstallation={profile.as_uri()}",
        "--headless",
        "--invisible",
        "--nologo",
        "--norestore",
        "--nolockcheck",
        "--nodefault",
        "--convert-to",
        "pdf:writer_pdf_Export",
        "--outdir",
        str(outdir),
        str(docx),
    ]
    shown = " ".join(command)
    try:
        # Own process group: on a timeout the whole group (oosplash and soffice.bin) is killed.
        process = subprocess.Popen(
            command,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            start_new_session=True,
            env=settings.current().child_environment(HOME=str(profile)),
        )
        try:
            stdout, stderr = process.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            stdout, stderr = process.communicate()
            raise PdfConversionError(
                f"LibreOffice quá thời gian {timeout:g} giây khi chuyển {docx.name} sang PDF; lệnh: {shown}; "
                f"stderr: {tail(stderr)}"
            ) from None
        produced = outdir / f"{docx.stem}.pdf"
        if process.returncode != 0 or not produced.is_file() or produced.stat().st_size == 0:
            raise PdfConversionError(
                f"LibreOffice không chuyển được {docx.name} sang PDF (mã thoát {process.returncode}); lệnh: {shown}; "
                f"stderr: {tail(stderr)}; stdout: {tail(stdout)}"
            )
        with atomic_path(pdf) as staging:
            shutil.move(str(produced), staging)
        return pdf
    finally:
        shutil.rmtree(profile, ignore_errors=True)
        shutil.rmtree(outdir, ignore_errors=True)
