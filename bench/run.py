"""``make bench``: the pipeline's speed as ratios, measured side by side in one run.

Each section is a module of bench/ (or a function here); ``sections()`` lists them in order:
DAG parse time against a trivial DAG (parse.py); extraction with 1 worker vs 4 against a portal with
a fixed latency, and against the portal's rate limit (extract_rate.py); rates in the warehouse's SQL vs
in Python for 3,800 units × 12 months; email against a bare ``smtplib`` loop (send.py); rendering in
one LibreOffice session vs a process per letter; the national scenario against the seed district,
end to end and per stage, with the peak memory and the bytes written (national.py).

The results go to docs/performance.md and to the README's performance section (between its bench
markers): the README quotes the last run, never numbers typed by hand. ``--only NAME`` runs one
section and writes nothing. Only the ratios are meant to be compared across machines.
"""

from __future__ import annotations

import csv
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def median_time(fn, repeat: int = 3) -> float:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def bench_extract() -> tuple[float, float]:
    from cchc.core.authorities import load_authority
    from cchc.core.periods import Period
    from cchc.portal.client import PortalClient
    from cchc.portal.simulator import Faults, PortalSimulator

    config = ROOT / "scenarios" / "seed"
    authority = load_authority(config / "tu-ky")
    period = Period(2023, 8)
    with PortalSimulator(config, faults=Faults(latency=0.02)) as sim:
        url = sim.base_url

        def fetch(workers: int):
            def run():
                with PortalClient(url, max_workers=workers, page_size=10) as client:
                    client.dossier_digitized(authority.root_department_id, period)
                    client.online_payment(authority.root_department_id, period)
                    client.post_counts(authority.unit_codes, period, root_id=authority.root_department_id)

            return run

        return median_time(fetch(1)), median_time(fetch(4))


def bench_rates() -> tuple[float, float]:
    import random

    import pandas as pd
    import sqlalchemy as sa

    from cchc.core.authorities import load_authority
    from cchc.core.db import engine_for
    from cchc.core.periods import Period
    from cchc.warehouse.load import load_facts, sync_units
    from cchc.warehouse.migrate import upgrade
    from cchc.warehouse.rates import compute_rates

    rng = random.Random(7)
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp) / "nation"
        folder.mkdir()
        seed_yaml = (ROOT / "scenarios" / "seed" / "tu-ky" / "authority.yaml").read_text(encoding="utf-8")
        (folder / "authority.yaml").write_text(seed_yaml.replace("id: tu-ky", "id: nation"), encoding="utf-8")
        codes = [f"U{i:04d}" for i in range(3800)]
        with (folder / "units.csv").open("w", encoding="utf-8", newline="") as handle:
            writer = csv.writer(handle)
            writer.writerow(["code", "name", "kind", "head_title", "email"])
            for code in codes:
                writer.writerow([code, f"UBND xã {code}", "commune", "Chủ tịch UBND xã", ""])
        authority = load_authority(folder)
        engine = engine_for(f"sqlite:///{tmp}/wh.db")
        upgrade(engine)
        sync_units(engine, authority, Period(2024, 1))
        for month in range(1, 13):
            rows = []
            for code in codes:
                received = rng.randint(50, 400)
                fee = rng.randint(0, 150)
                resolved = rng.randint(50, 400)
                rows.append(
                    {
                        "authority": "nation",
                        "period": f"2024-{month:02d}",
                        "unit_code": code,
                        "received": received,
                        "received_digitized": rng.randint(0, received),
                        "resolved": resolved,
                        "resolved_digitized": rng.randint(0, resolved),
                        "fee_dossiers": fee,
                        "paid_online": rng.randint(0, fee),
                        "web_posts": rng.randint(0, 9),
                        "official_email_regular": None,
                        "source": "bench",
                    }
                )
            load_facts(engine, "nation", Period(2024, month), pd.DataFrame(rows), "bench", "bench")

        period = Period(2024, 12)
        starts = {"receipt": Period(2024, 1), "result": Period(2024, 1), "payment": Period(2024, 1)}

        def in_sql():
            compute_rates(engine, "nation", period, starts)

        def in_python():
            with engine.connect() as conn:
                facts = pd.read_sql(
                    sa.text("SELECT * FROM current_facts WHERE authority_id = 'nation'"), conn
                )
            ytd = facts.groupby("unit_code")[
                [
                    "received",
                    "received_digitized",
                    "resolved",
                    "resolved_digitized",
                    "fee_dossiers",
                    "paid_online",
                ]
            ].sum()
            month = facts[facts["period"] == str(period)].set_index("unit_code")
            return ytd, month

        result = median_time(in_sql), median_time(in_python)
        engine.dispose()
        return result


def bench_render(n: int = 10) -> dict[str, float]:
    """Seconds: ``session`` and ``process`` for ``n`` conversions, ``start`` of the session alone;
    issuing (medians of 3): ``number`` (from the draft), ``full`` (rendering again, same session),
    ``before`` (rendering again with a soffice of its own, as issuing did before)."""
    from cchc.letter.office import OfficeSession
    from cchc.letter.pdf import to_pdf
    from cchc.letter.render import number_draft, render_letter
    from cchc.letter.soffice import convert_in_process

    decisions = ROOT / "tests" / "letter" / "fixtures" / "seed_decisions.json"
    authority = ROOT / "scenarios" / "seed" / "tu-ky"
    out: dict[str, float] = {}
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        docx = render_letter(decisions, authority, folder / "draft", pdf=False, sign=False).docx_path

        start = time.perf_counter()
        for i in range(n):
            convert_in_process(docx, folder / f"process-{i}.pdf")
        out["process"] = time.perf_counter() - start

        start = time.perf_counter()
        with OfficeSession() as session:
            session.start()
            out["start"] = time.perf_counter() - start
            for i in range(n):
                session.convert(docx, folder / f"session-{i}.pdf")
            out["session"] = time.perf_counter() - start

        # Issuing, as the pipeline does: through the process's shared session, started beforehand.
        to_pdf(docx, folder / "warm.pdf")

        def full() -> None:
            render_letter(decisions, authority, folder / "full", document_number=7, sign=False)

        def number() -> None:
            target = folder / "numbered"
            target.mkdir(exist_ok=True)
            assert number_draft(docx, decisions, authority, folder, 7, folder=target, sign=False)

        out["full"], out["number"] = median_time(full), median_time(number)
        os.environ["CCHC_LIBREOFFICE_SESSION"] = "0"  # before: a full render and its own soffice
        try:
            out["before"] = median_time(full)
        finally:
            del os.environ["CCHC_LIBREOFFICE_SESSION"]
    return out


def render_report(n: int = 10) -> list[str]:
    """The rendering lines ``make bench`` prints."""
    r = bench_render(n)
    return [
        f"Chuyển PDF {n} lần công văn mẫu: một phiên LibreOffice {r['session']:.2f} s (khởi động "
        f"{r['start']:.2f} s, mỗi lần {(r['session'] - r['start']) / n:.2f} s) | mỗi lần một tiến trình "
        f"{r['process']:.2f} s ({r['process'] / n:.2f} s/lần) | nhanh hơn ×{r['process'] / r['session']:.1f}",
        f"Cấp số một công văn: ghi số vào bản thảo {r['number']:.2f} s | soạn lại toàn bộ {r['full']:.2f} s "
        f"(cùng phiên) | soạn lại với LibreOffice riêng (cách cũ) {r['before']:.2f} s | nhanh hơn "
        f"×{r['full'] / r['number']:.1f} / ×{r['before'] / r['number']:.1f}",
    ]


def _extract_lines() -> list[str]:
    one, four = bench_extract()
    return [
        f"Trích xuất kỳ 2023-08 (độ trễ 20 ms/lượt): 1 luồng {one:.2f} s | 4 luồng {four:.2f} s | "
        f"nhanh hơn ×{one / four:.1f}"
    ]


def _rates_lines() -> list[str]:
    sql, python = bench_rates()
    return [
        f"Tỷ lệ 3.800 đơn vị × 12 tháng: SQL trong kho {sql:.2f} s | đọc ra Python {python:.2f} s | "
        f"tỷ lệ SQL/Python ×{sql / python:.2f}"
    ]


def sections() -> list[tuple[str, Callable[[], list[str]]]]:
    """(title, the function printing its lines): what ``make bench`` measures, in order."""
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    import extract_rate  # bench/*.py
    import national
    import parse
    import send

    return [
        ("Phân tích tệp DAG", parse.report),
        ("Trích xuất: song song", _extract_lines),
        ("Trích xuất: giới hạn tốc độ của cổng", extract_rate.report),
        ("Tỷ lệ trong kho", _rates_lines),
        ("Gửi thư", send.report),
        ("Soạn và cấp số công văn (LibreOffice)", render_report),
        ("Toàn quốc so với huyện mẫu (make run)", national.bench_national),
    ]


RESULTS = ROOT / "docs" / "performance.md"
README = ROOT / "README.md"
BEGIN, END = "<!-- bench:begin -->", "<!-- bench:end -->"


def write_results(blocks: list[tuple[str, list[str]]], path: Path = RESULTS) -> str:
    """docs/performance.md, and the README's copy between its bench markers: the same text."""
    import platform

    body = [
        f"Đo bởi `make bench` trên {os.cpu_count()} nhân, Python {platform.python_version()}; "
        "chỉ các tỷ lệ có ý nghĩa so sánh (thời gian tuyệt đối tùy máy).",
        "",
    ]
    for title, lines in blocks:
        body += [f"**{title}**", "", "```", *lines, "```", ""]
    text = "\n".join(body)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("# Hiệu năng (kết quả make bench gần nhất)\n\n" + text, encoding="utf-8")
    readme = README.read_text(encoding="utf-8")
    if BEGIN in readme and END in readme:
        head, rest = readme.split(BEGIN, 1)
        _, tail = rest.split(END, 1)
        README.write_text(f"{head}{BEGIN}\n{text}{END}{tail}", encoding="utf-8")
    return text


def main(argv: list[str] | None = None) -> int:
    import argparse
    import logging

    parser = argparse.ArgumentParser(prog="bench", description=__doc__)
    parser.add_argument("--only", help="chỉ các mục có tên chứa chuỗi này (không ghi docs/performance.md)")
    args = parser.parse_args(argv)
    logging.disable(logging.WARNING)  # the distribution logs a line per message, the client a line per retry
    print("Đo tốc độ (trung vị, giây; chỉ so sánh tỷ lệ)\n")
    blocks = []
    for title, fn in sections():
        if args.only and args.only.casefold() not in title.casefold():
            continue
        print(f"== {title}", flush=True)
        lines = fn()
        print("\n".join(lines), flush=True)
        blocks.append((title, lines))
    if not args.only:
        write_results(blocks)
        print(f"\nĐã ghi {RESULTS.relative_to(ROOT)} và mục Hiệu năng của README.md")
    return 0


if __name__ == "__main__":
    sys.exit(main())
