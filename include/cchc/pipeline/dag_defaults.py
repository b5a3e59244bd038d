"""What both DAG files share: default arguments, the failure alert, the common params.

Imported by the DAG files at parse time, so it stays light: the settings module and Airflow's SDK,
nothing of the stages (the alert imports the task bodies only when it fires).
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pendulum
from airflow.sdk import Param

from cchc.core import settings

START_DATE = pendulum.datetime(2023, 1, 1, tz="Asia/Ho_Chi_Minh")
# How often a run waiting for its turn on an authority's period (another run holds it) looks again.
HOLD_POKE_SECONDS = 30
PERIOD_PATTERN = r"^\d{4}-(0[1-9]|1[0-2])$"
# An ISO date or date-time (the letters DAG's ``issued_at``): refused by the trigger form otherwise.
ISSUED_AT_PATTERN = r"^\d{4}-\d{2}-\d{2}([T ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:?\d{2})?)?$"


def alert_operators(context: dict[str, Any]) -> None:
    """on_failure_callback of every task: an email to the operators (see ``tasks.alert_failure``)."""
    from cchc.pipeline import tasks

    tasks.alert_failure(context)


def default_args() -> dict[str, Any]:
    return {
        "owner": "cchc",
        # `make run` sets 0 so a failure shows at once instead of after the retry delays.
        "retries": settings.current().task_retries,
        "retry_delay": timedelta(minutes=2),
        "retry_exponential_backoff": True,
        "on_failure_callback": alert_operators,
    }


def common_params(authorities_description: str) -> dict[str, Param]:
    """``period`` and ``authorities``: how an operator runs another month, or some authorities only."""
    return {
        "period": Param(
            None,
            type=["null", "string"],
            pattern=PERIOD_PATTERN,
            title="Kỳ báo cáo (YYYY-MM)",
            description="Để trống: tháng trước ngày logic của lần chạy.",
        ),
        "authorities": Param([], type="array", title="Cơ quan ban hành", description=authorities_description),
    }


def issued_at_param(description: str) -> Param:
    """``issued_at``: the date the letter is issued with (the register's year), when a past month is run."""
    return Param(
        None,
        type=["null", "string"],
        pattern=ISSUED_AT_PATTERN,
        title="Ngày cấp số (ghi vào sổ đăng ký)",
        description=description,
    )
