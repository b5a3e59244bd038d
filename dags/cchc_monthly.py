"""
### Thư CCHC hằng tháng — thu thập số liệu (`cchc_monthly`)

Mỗi tháng, cho từng cơ quan ban hành trong `CCHC_CONFIG_DIR`:

1. **plan** — xác định kỳ báo cáo (tháng trước ngày logic, giờ Việt Nam, hoặc tham số `period`
   dạng `YYYY-MM` khi chạy tay) và đọc cấu hình các cơ quan;
2. **wait_for_period_closed** — chờ Cổng DVC khóa số liệu của kỳ (cảm biến, chế độ reschedule);
3. **extract** — lấy số liệu từ Cổng DVC (hoặc tệp Excel trong hộp thư đến), lưu nguyên văn mọi
   phản hồi vào `raw/` kèm manifest, rồi ghi bảng chuẩn `extracted/extracted.csv`.

Kết quả nằm dưới `CCHC_OUTPUT_DIR/<cơ quan>/<kỳ>/`. Kết nối dùng: `cchc_portal`.
"""

from __future__ import annotations

from datetime import timedelta

import pendulum
from airflow.sdk import CronTriggerTimetable, Param, PokeReturnValue, dag, task

DEFAULT_ARGS = {
    "owner": "cchc",
    "retries": 2,
    "retry_delay": timedelta(minutes=2),
    "retry_exponential_backoff": True,
}


@dag(
    dag_id="cchc_monthly",
    # 07:00 on the 1st, Vietnam time: the run's logical date falls in the month after the period.
    schedule=CronTriggerTimetable("0 7 1 * *", timezone="Asia/Ho_Chi_Minh"),
    start_date=pendulum.datetime(2023, 1, 1, tz="Asia/Ho_Chi_Minh"),
    catchup=False,
    max_active_runs=1,
    default_args=DEFAULT_ARGS,
    tags=["cchc", "monthly"],
    doc_md=__doc__,
    params={
        "period": Param(
            None,
            type=["null", "string"],
            pattern=r"^\d{4}-(0[1-9]|1[0-2])$",
            title="Kỳ báo cáo (YYYY-MM)",
            description="Để trống: tháng trước ngày logic của lần chạy.",
        ),
        "authorities": Param(
            [], type="array", title="Cơ quan ban hành", description="Để trống: mọi cơ quan trong CCHC_CONFIG_DIR."
        ),
    },
)
def cchc_monthly():
    @task
    def plan(params=None, logical_date=None) -> list[dict]:
        from cchc import pipeline

        return pipeline.plan(params, logical_date)

    @task.sensor(poke_interval=600, timeout=timedelta(days=5).total_seconds(), mode="reschedule")
    def wait_for_period_closed(job: dict) -> PokeReturnValue:
        from cchc import pipeline

        return PokeReturnValue(is_done=pipeline.period_ready(job), xcom_value=job)

    @task(map_index_template="{{ authority_id }}")
    def extract(job: dict, run_id=None) -> dict:
        from airflow.sdk import get_current_context
        from cchc import pipeline

        # Names the mapped instance after its authority in the UI instead of an index.
        get_current_context()["authority_id"] = job["authority"]
        return pipeline.extract(job, run_id=run_id)

    extract.expand(job=wait_for_period_closed.expand(job=plan()))


cchc_monthly()
