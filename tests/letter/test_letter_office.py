"""The LibreOffice session (cchc.letter.office): many letters through one LibreOffice, the same PDFs as
one soffice per letter; a stuck or killed LibreOffice is killed, restarted and the letter converted on
the new one; nothing keeps running once the session is closed or its process is gone.

Real LibreOffice through the system Python's python3-uno; each test starts its own session."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from support.letters import normalise, run

from cchc.letter import office
from cchc.letter.errors import PdfConversionError
from cchc.letter.office import OfficeSession
from cchc.letter.pdf import prestart, to_pdf
from cchc.letter.soffice import convert_in_process

pytestmark = pytest.mark.libreoffice


def pdf_text(path: Path) -> str:
    return run("pdftotext", "-layout", str(path), "-")


def running(pid: int) -> bool:
    """The process exists and is not a zombie waiting to be reaped."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (FileNotFoundError, ProcessLookupError):
        return False
    return fields[0] != "Z"


def wait_gone(pid: int, within: float = 20.0) -> bool:
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        if not running(pid):
            return True
        time.sleep(0.1)
    return not running(pid)


def children() -> list[int]:
    """This process's children still running (zombies excepted)."""
    out = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(fields[1]) == os.getpid() and fields[0] != "Z":
                out.append(int(entry.name))
    return out


@pytest.fixture
def session():
    with OfficeSession() as started:
        yield started


def test_many_letters_through_one_session_read_as_one_process_per_letter(
    tmp_path, session, seed_letter, province_letter
):
    documents = [seed_letter.docx_path, province_letter.docx_path] * 2
    for i, docx in enumerate(documents):
        session.convert(docx, tmp_path / f"session-{i}.pdf")
    assert session.starts == 1  # one LibreOffice for the four
    for name, docx in (("seed", seed_letter.docx_path), ("province", province_letter.docx_path)):
        convert_in_process(docx, tmp_path / f"{name}-alone.pdf")
    alone = {0: tmp_path / "seed-alone.pdf", 1: tmp_path / "province-alone.pdf"}
    for i in range(len(documents)):
        text = pdf_text(tmp_path / f"session-{i}.pdf")
        assert text == pdf_text(alone[i % 2])
        assert "Số:" in text
    info = run("pdfinfo", str(tmp_path / "session-0.pdf"))
    assert "A4" in info and "Pages:" in info
    assert all(
        line.split()[-5] == "yes"
        for line in run("pdffonts", str(tmp_path / "session-0.pdf")).splitlines()[2:]
    )


def test_a_stuck_libreoffice_is_killed_restarted_and_the_letter_converted(tmp_path, session, seed_letter):
    session.convert(seed_letter.docx_path, tmp_path / "first.pdf")
    stuck = session.soffice_pid
    assert stuck is not None
    os.kill(stuck, signal.SIGSTOP)  # a converter that never answers
    try:
        session.convert(seed_letter.docx_path, tmp_path / "second.pdf", timeout=8)
    finally:
        if running(stuck):
            os.kill(stuck, signal.SIGCONT)
    assert wait_gone(stuck)
    assert session.starts == 2 and session.soffice_pid not in (None, stuck)
    assert pdf_text(tmp_path / "second.pdf") == pdf_text(tmp_path / "first.pdf")
    session.convert(seed_letter.docx_path, tmp_path / "third.pdf")  # and the new one carries on
    assert session.starts == 2


def test_a_killed_libreoffice_is_restarted(tmp_path, session, seed_letter):
    session.convert(seed_letter.docx_path, tmp_path / "first.pdf")
    killed = session.soffice_pid
    assert killed is not None
    os.kill(killed, signal.SIGKILL)
    session.convert(seed_letter.docx_path, tmp_path / "second.pdf")
    assert session.starts == 2 and session.soffice_pid != killed
    assert pdf_text(tmp_path / "second.pdf") == pdf_text(tmp_path / "first.pdf")


def test_a_killed_bridge_takes_libreoffice_with_it(tmp_path, session, seed_letter):
    session.convert(seed_letter.docx_path, tmp_path / "first.pdf")
    soffice, bridge = session.soffice_pid, session._bridge
    assert soffice is not None and bridge is not None
    os.kill(bridge.process.pid, signal.SIGKILL)  # the kernel kills soffice.bin with it (PR_SET_PDEATHSIG)
    assert wait_gone(soffice)
    session.convert(seed_letter.docx_path, tmp_path / "second.pdf")
    assert session.starts == 2


def test_a_letter_stuck_twice_is_an_error_and_leaves_no_pdf(tmp_path, seed_letter):
    with OfficeSession() as session:
        with pytest.raises(PdfConversionError, match="quá thời gian.*seed|quá thời gian"):
            session.convert(seed_letter.docx_path, tmp_path / "cham.pdf", timeout=0.01)
        assert session.starts == 2  # restarted and tried once more, then gave up
    assert not (tmp_path / "cham.pdf").exists() and list(tmp_path.iterdir()) == []


def test_a_document_libreoffice_refuses_is_an_error_at_once(tmp_path, session, seed_letter):
    broken = tmp_path / "hong.docx"
    broken.write_bytes(seed_letter.docx_path.read_bytes()[:3000])  # a truncated zip
    with pytest.raises(PdfConversionError, match="không chuyển được hong.docx.*không mở được hong.docx"):
        session.convert(broken, tmp_path / "hong.pdf")
    assert not (tmp_path / "hong.pdf").exists()
    session.convert(seed_letter.docx_path, tmp_path / "tot.pdf")  # the same LibreOffice, not restarted
    assert session.starts == 1


def test_nothing_runs_after_the_session_closes(tmp_path, seed_letter):
    before = set(children())
    session = OfficeSession()
    session.convert(seed_letter.docx_path, tmp_path / "a.pdf")
    soffice = session.soffice_pid
    bridge = session._bridge
    assert soffice is not None and bridge is not None
    folder = bridge.folder
    assert set(children()) - before == {bridge.process.pid}
    session.close()
    assert not running(soffice) or wait_gone(soffice)
    assert set(children()) - before == set()
    assert not folder.exists()  # the private profile is gone too
    with pytest.raises(PdfConversionError, match="đã đóng"):
        session.convert(seed_letter.docx_path, tmp_path / "b.pdf")


def test_libreoffice_does_not_outlive_a_killed_process(tmp_path, seed_letter):
    """A task process killed outright (no atexit, no finalizer): its LibreOffice still goes."""
    script = (
        "import os, signal, sys\n"
        "from cchc.letter.office import OfficeSession\n"
        "session = OfficeSession()\n"
        f"session.convert({str(seed_letter.docx_path)!r}, {str(tmp_path / 'a.pdf')!r})\n"
        "print(session.soffice_pid, session._bridge.folder, flush=True)\n"
        "os.kill(os.getpid(), signal.SIGKILL)\n"
    )
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120)
    assert done.returncode == -signal.SIGKILL, done.stderr
    pid, folder = done.stdout.split()
    assert wait_gone(int(pid))
    deadline = time.monotonic() + 20
    while Path(folder).exists() and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not Path(folder).exists()


def test_an_idle_session_lets_libreoffice_go_and_starts_again(tmp_path, seed_letter):
    with OfficeSession(idle_timeout=1) as session:
        session.convert(seed_letter.docx_path, tmp_path / "a.pdf")
        first = session.soffice_pid
        assert first is not None and wait_gone(first)
        session.convert(seed_letter.docx_path, tmp_path / "b.pdf")
        assert session.starts == 2 and session.soffice_pid != first


def test_a_forked_child_does_not_use_the_parents_session(tmp_path, session, seed_letter):
    session.convert(seed_letter.docx_path, tmp_path / "a.pdf")
    pid = os.fork()
    if pid == 0:  # the child: the parent's LibreOffice is not its to use or to stop
        os._exit(0 if session._bridge is None and session.soffice_pid is None else 1)
    _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0
    session.convert(seed_letter.docx_path, tmp_path / "b.pdf")  # the parent's still works, unrestarted
    assert session.starts == 1


def test_to_pdf_shares_one_session_and_falls_back_without_uno(tmp_path, monkeypatch, seed_letter):
    monkeypatch.setattr(office, "_shared", None)
    monkeypatch.setattr(office, "_unavailable", None)
    prestart()  # LibreOffice starting in the background; the conversion waits for it, no second start
    to_pdf(seed_letter.docx_path, tmp_path / "a.pdf")
    shared = office._shared
    to_pdf(seed_letter.docx_path, tmp_path / "b.pdf")
    assert shared is not None and office._shared is shared and shared.starts == 1
    office.close_shared()

    # No python3-uno (here: no such Python): one soffice per letter, said once in the log.
    monkeypatch.setenv("CCHC_UNO_PYTHON", str(tmp_path / "khong-co" / "python3"))
    to_pdf(seed_letter.docx_path, tmp_path / "c.pdf")
    assert office._unavailable is not None and office._shared is None
    assert normalise(pdf_text(tmp_path / "c.pdf")) == normalise(pdf_text(tmp_path / "a.pdf"))
