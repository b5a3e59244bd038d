"""Every authority's outcome in a run, in Vietnamese, from Airflow's task states and the warehouse.

The ``summary`` task of each DAG reads the states of its per-authority task group (``<group>.<task>``
for each map index, in the order ``plan`` listed the authorities) and what the warehouse holds of
the authority's letter, so an operator sees in one place: this authority's data was refused at
validation, that one's letter was rejected, the third was issued and sent.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from sqlalchemy.engine import Engine

from cchc.core.paths import PeriodFolder
from cchc.pipeline.payloads import Job

STAGES = {
    "hold": "chờ lượt (một lần chạy khác đang xử lý kỳ này)",
    "plan_loads": "lập kế hoạch nạp",
    "wait_for_period_closed": "chờ cổng khóa số liệu",
    "extract": "trích xuất",
    "validate": "kiểm tra dữ liệu",
    "load": "nạp kho",
    "compute_rates": "tính tỷ lệ",
    "decide": "đánh giá",
    "letters_conf": "chuẩn bị soạn công văn",
    "trigger_letters": "kích hoạt soạn công văn",
    "render": "soạn công văn",
    "approve": "duyệt",
    "issue": "cấp số",
    "distribute": "phát hành",
    "report": "tổng hợp kết quả gửi",
}
FAILED = ("failed", "upstream_failed")


def _states(states: Mapping[str, str], group: str, index: int) -> dict[str, str]:
    """The states of one authority's tasks: ``{task: state}``."""
    out: dict[str, str] = {}
    prefix = f"{group}."
    for key, state in states.items():
        if not key.startswith(prefix):
            continue
        task, _, number = key[len(prefix) :].rpartition("_")
        if number.isdigit() and int(number) == index:
            out[task] = state.rsplit(".", 1)[-1].lower()
    return out


def _letter_text(engine: Engine, job: Job, output_dir: Path) -> str:
    from cchc.core.wording import count
    from cchc.delivery.status import distribution_report
    from cchc.letter.lifecycle import STATE_LABELS
    from cchc.letter.records import read_letters

    rows = read_letters(engine, job.authority, job.period)
    current = next((r for r in rows if r["is_current"]), None)
    if current is None:
        return "chưa có công văn"
    text = f"công văn {STATE_LABELS.get(current['status'], current['status'])}"
    if current["document_number"]:
        text += f" số {count(current['document_number'])}"
        counts = distribution_report(engine, current["letter_id"])["counts"]
        text += (
            f"; đã gửi {counts['sent']}, lỗi {counts['failed']}, không rõ {counts['unknown']}, "
            f"chờ gửi {counts['pending'] + counts['sending']}"
        )
    revision = PeriodFolder(output_dir, job.authority, job.period).revision_json
    if revision.exists() and current["status"] not in ("draft", "approved"):
        text += f"; số liệu đã thay đổi sau khi phát hành (xem {revision})"
    return text


def authority_outcomes(
    engine: Engine,
    jobs: Sequence[Job],
    states: Mapping[str, str],
    group: str,
    *,
    letters: bool,
    output_dir: Path,
) -> list[dict[str, Any]]:
    out = []
    for index, job in enumerate(jobs):
        mine = _states(states, group, index)
        failed = [task for task, state in mine.items() if state in FAILED and task in STAGES]
        first = next((t for t in STAGES if t in failed), None)
        if first is not None:
            text = f"lỗi ở bước {STAGES[first]} (xem nhật ký tác vụ {group}.{first})"
        elif letters:
            text = _letter_text(engine, job, output_dir)
        elif mine.get("decide") == "success":
            text = (
                "đã ra quyết định; đã kích hoạt soạn công văn"
                if mine.get("trigger_letters") == "success"
                else "đã ra quyết định"
            )
        else:
            waiting = next(
                (STAGES[t] for t in STAGES if mine.get(t) not in (None, "success", "skipped")), "?"
            )
            text = f"chưa xong (đang ở bước {waiting})"
        out.append(
            {
                "authority": job.authority,
                "period": job.period,
                "failed": first is not None,
                "text": text,
                "states": mine,
            }
        )
    return out
