"""Email throughput: the project's distribution against a bare ``smtplib`` loop, same messages, same server.

The distribution sends N messages (a small PDF each) to a local aiosmtpd server that keeps them; the
bare loop then sends those very bytes with ``smtplib.SMTP.sendmail`` on one connection to the same
server. The distribution does more per message (compose it, claim the ledger row under a lease and
record the previous answer: one commit), so the ratio says what that costs; the target is ≥ 0.8.

Measured with the ledger on PostgreSQL (the warehouse of an Airflow deployment; ``CCHC_BENCH_PG_ADMIN_URL``,
default the local server, a database made for the run and dropped after) and on SQLite (``make run``'s
embedded warehouse, whose commit waits for the disk).
"""

from __future__ import annotations

import hashlib
import os
import smtplib
import statistics
import tempfile
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DOMAIN = "tuky.haiduong.gov.vn"
PG_ADMIN_URL = os.environ.get(
    "CCHC_BENCH_PG_ADMIN_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
)


@contextmanager
def warehouse(backend: str, folder: Path, round_: int) -> Iterator[str]:
    """A new, empty warehouse for one round: a SQLite file, or a PostgreSQL database dropped after."""
    if backend == "sqlite":
        yield f"sqlite:///{folder}/wh{round_}.db"
        return
    import sqlalchemy as sa

    from cchc.core.db import scratch_database

    admin = sa.create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT", poolclass=sa.NullPool)
    name = f"cchc_bench_send_{uuid.uuid4().hex[:8]}"
    try:
        with scratch_database(admin, name) as url:
            yield url
    finally:
        admin.dispose()


def postgres_reachable() -> bool:
    import sqlalchemy as sa

    engine = sa.create_engine(PG_ADMIN_URL, connect_args={"connect_timeout": 3}, poolclass=sa.NullPool)
    try:
        with engine.connect() as conn:
            conn.exec_driver_sql("SELECT 1")
        return True
    except sa.exc.DBAPIError:
        return False
    finally:
        engine.dispose()


class _Keep:
    """aiosmtpd handler that keeps every message (envelope and bytes), as a mail server would."""

    def __init__(self, latency: float = 0.0) -> None:
        self.messages: list[tuple[str, list[str], bytes]] = []
        self.lock = threading.Lock()
        self.latency = latency  # a real server checks and stores a message before it answers

    async def handle_DATA(self, server, session, envelope):  # noqa: N802 (aiosmtpd's hook name)
        if self.latency:
            import asyncio

            await asyncio.sleep(self.latency)
        with self.lock:
            self.messages.append((envelope.mail_from, list(envelope.rcpt_tos), envelope.original_content))
        return "250 2.0.0 Ok: queued"


def _authority(folder: Path, n: int):
    """The seed district with n - 3 communes (plus its two copies and one operator: n recipients)."""
    from cchc.core.authorities import load_authority

    folder.mkdir()
    seed = (ROOT / "scenarios" / "seed" / "tu-ky" / "authority.yaml").read_text(encoding="utf-8")
    (folder / "authority.yaml").write_text(seed.replace("id: tu-ky", "id: bench"), encoding="utf-8")
    lines = ["code,name,kind,head_title,email"]
    lines += [f"X-{i:04d},UBND xã Thử {i},commune,Chủ tịch UBND xã,xa{i:04d}@{DOMAIN}" for i in range(n - 3)]
    (folder / "units.csv").write_text("\n".join(lines) + "\n", encoding="utf-8")
    return load_authority(folder)


def _decisions(authority) -> dict:
    units = {
        u.code: {"code": u.code, "name": u.name, "kind": u.kind, "head_title": u.head_title, "email": u.email}
        for u in authority.units
    }
    groups = [{"group": "communes", "units": [next(iter(units))]}]
    return {
        "period": "2023-08",
        "period_label": "8/2023",
        "units": units,
        "sections": [{"number": "1", "kind": "commend", "groups": groups}],
    }


def _issued_letter(engine, folder: Path, pdf: bytes) -> None:
    from cchc.warehouse.schema import document_numbers, letters

    folder.mkdir(parents=True)
    (folder / "letter.pdf").write_bytes(pdf)
    stamp = datetime(2023, 9, 5, 9, 0, tzinfo=UTC)
    with engine.begin() as conn:
        letter_id = conn.execute(
            letters.insert().values(
                authority_id="bench",
                period="2023-08",
                status="issued",
                document_number=15,
                issued_at=stamp,
                decisions_hash="0" * 64,
                rulebook_version="bench",
                docx_path=str(folder / "letter.docx"),
                docx_sha256="0" * 64,
                pdf_path=str(folder / "letter.pdf"),
                pdf_sha256=hashlib.sha256(pdf).hexdigest(),
                signed=False,
                run_id="bench",
                is_current=True,
                created_at=stamp,
            )
        ).inserted_primary_key[0]
        conn.execute(
            document_numbers.insert().values(
                authority_id="bench", year=2023, number=15, letter_id=letter_id, issued_at=stamp
            )
        )


def bench_send(
    n: int = 500, repeat: int = 3, backend: str = "postgresql", latency: float = 0.0
) -> tuple[float, float, int]:
    """Median seconds of the distribution and of the bare loop for the same n messages; messages each."""
    from aiosmtpd.controller import Controller

    from cchc.core.db import engine_for
    from cchc.delivery.distribute import Request, SendPolicy, distribute
    from cchc.delivery.send import SmtpSettings
    from cchc.warehouse.migrate import upgrade

    pdf = b"%PDF-1.4\n% bench letter\n" + bytes(range(256)) * 64 + b"\n%%EOF\n"  # ~16 KiB
    handler = _Keep(latency)
    with tempfile.TemporaryDirectory() as tmp:
        base = Path(tmp)
        authority = _authority(base / "bench", n)
        decisions = _decisions(authority)
        with socket_port() as port:
            controller = Controller(handler, hostname="127.0.0.1", port=port, ready_timeout=5)
        controller.start()
        settings = SmtpSettings(
            host="127.0.0.1",
            port=port,
            from_email=f"cchc@{DOMAIN}",
            use_ssl=False,
            starttls=False,
            timeout=30,
        )
        ours, bare = [], []
        try:
            for round_ in range(repeat):
                # A fresh warehouse each round: the ledger would (rightly) send nothing the second time.
                with warehouse(backend, base, round_) as url:
                    engine = engine_for(url)
                    upgrade(engine)
                    out = base / f"out{round_}"
                    _issued_letter(engine, out / "bench" / "2023-08", pdf)
                    handler.messages.clear()
                    start = time.perf_counter()
                    result = distribute(
                        engine,
                        authority,
                        "2023-08",
                        settings,
                        Request(),
                        decisions=decisions,
                        output_dir=out,
                        policy=SendPolicy(sleep=lambda _: None),
                    )
                    ours.append(time.perf_counter() - start)
                    engine.dispose()
                if len(result.sent) != n or len(handler.messages) != n:
                    raise RuntimeError(f"phân phối gửi {len(result.sent)}/{n} thư")
                same = list(handler.messages)
                handler.messages.clear()
                start = time.perf_counter()
                with smtplib.SMTP("127.0.0.1", port, timeout=30) as smtp:
                    for mail_from, rcpt_tos, data in same:
                        smtp.sendmail(mail_from, rcpt_tos, data)
                bare.append(time.perf_counter() - start)
                if len(handler.messages) != n:
                    raise RuntimeError(f"vòng smtplib gửi {len(handler.messages)}/{n} thư")
        finally:
            controller.stop()
    return statistics.median(ours), statistics.median(bare), n


class socket_port:  # noqa: N801 (used as a context manager, reads like one)
    """A free TCP port on 127.0.0.1 (aiosmtpd's start-up check needs a real one, not 0)."""

    def __enter__(self) -> int:
        import socket

        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            return int(sock.getsockname()[1])

    def __exit__(self, *exc: object) -> None:
        return None


def report() -> list[str]:
    """The lines ``make bench`` prints: one per warehouse the ledger was measured on, against a server
    that answers at once, and one against a server that takes 20 ms per message (as a real one does:
    checks, queueing, a disk write)."""
    backends = (["postgresql"] if postgres_reachable() else []) + ["sqlite"]
    cases = [(backend, 0.0, 500) for backend in backends] + [(backends[0], 0.02, 200)]
    lines = []
    for backend, latency, n in cases:
        ours, bare, n = bench_send(n=n, backend=backend, latency=latency)
        server = f"máy chủ trả lời sau {latency * 1000:.0f} ms" if latency else "máy chủ trả lời ngay"
        lines.append(
            f"Gửi {n} thư (sổ gửi trên {'PostgreSQL' if backend == 'postgresql' else 'SQLite'}, {server}): "
            f"phân phối {ours:.2f} s ({n / ours:.0f} thư/s) | smtplib một kết nối {bare:.2f} s "
            f"({n / bare:.0f} thư/s) | tỷ lệ thông lượng ×{bare / ours:.2f} (mục tiêu ≥ 0,8)"
        )
    return lines


if __name__ == "__main__":
    import logging

    logging.disable(logging.WARNING)  # a line per message is the distribution's log, not the bench's
    print("\n".join(report()))
