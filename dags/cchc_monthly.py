"""
### Thư CCHC hằng tháng — số liệu và tỷ lệ (`cchc_monthly`)

Mỗi tháng, cho từng cơ quan ban hành trong `CCHC_CONFIG_DIR`:

1. **upgrade_warehouse** — áp dụng các migration của kho dữ liệu (không bao giờ sửa tay);
2. **plan** — xác định kỳ báo cáo (tháng trước ngày logic, giờ Việt Nam, hoặc tham số `period`
   dạng `YYYY-MM` khi chạy tay) và đọc cấu hình các cơ quan; **plan_loads** thêm các tháng trước
   trong năm mà kho chưa có (nạp bổ sung để tỷ lệ lũy kế đúng; tắt bằng tham số `backfill`);
3. **wait_for_period_closed** — chờ Cổng DVC khóa số liệu của kỳ (cảm biến, chế độ reschedule);
4. **extract** — lấy số liệu từ Cổng DVC (hoặc tệp Excel trong hộp thư đến), lưu nguyên văn mọi
   phản hồi vào `raw/` kèm manifest, rồi ghi bảng chuẩn `extracted/extracted.csv`;
5. **validate** — kiểm tra bằng Great Expectations; lỗi nghiêm trọng dừng lần chạy trước khi nạp
   (log nêu rõ đơn vị, trường), cảnh báo được ghi lại; Data Docs ở `validation/`;
6. **load** — nạp bảng đã kiểm tra vào kho (một giao dịch, có phiên bản, chạy lại không nhân đôi);
7. **compute_rates** — tính tỷ lệ tháng, lũy kế năm và từ đầu đợt bằng SQL trong kho; cập nhật
   Asset `cchc_rates`;
8. **decide** — biểu dương / nhắc nhở / phê bình (lần thứ mấy trong năm) theo bộ quy tắc đang hiệu
   lực; lưu vào kho và ghi `decisions.json`; cập nhật Asset `cchc_decisions`;
9. **trigger_letters** — kích hoạt DAG `cchc_letters` (soạn thư → duyệt → cấp số → gửi) cho kỳ này.

Kết quả nằm dưới `CCHC_OUTPUT_DIR/<cơ quan>/<kỳ>/`. Mọi tác vụ lỗi đều gửi cảnh báo cho cán bộ vận
hành qua `smtp_default`. Kết nối dùng: `cchc_portal`, `cchc_warehouse`, `smtp_default`.
"""

from __future__ import annotations

import os
from datetime import timedelta

import pendulum
from airflow.providers.standard.operators.trigger_dagrun import TriggerDagRunOperator
from airflow.sdk import Asset, CronTriggerTimetable, Param, PokeReturnValue, dag, task


def alert_operators(context):
    from cchc import pipeline

    pipeline.alert_failure(context)


DEFAULT_ARGS = {
    "owner": "cchc",
    # `make run` sets 0 so a failure shows at once instead of after the retry delays.
    "retries": int(os.environ.get("CCHC_TASK_RETRIES", "2")),
    "retry_delay": timedelta(minutes=2),
    "retry_exponential_backoff": True,
    "on_failure_callback": alert_operators,
}
RATES_ASSET = Asset(name="cchc_rates", uri="cchc://warehouse/rates")
DECISIONS_ASSET = Asset(name="cchc_decisions", uri="cchc://warehouse/decisions")


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
        "backfill": Param(
            True,
            type="boolean",
            title="Nạp bổ sung các tháng trước",
            description="Nạp các tháng từ đầu năm mà kho chưa có, để tỷ lệ lũy kế tính đủ.",
        ),
    },
)
def cchc_monthly():
    @task
    def plan(params=None, logical_date=None) -> list[dict]:
        from cchc import pipeline

        return pipeline.plan(params, logical_date)

    @task
    def plan_loads(targets: list[dict], params=None) -> list[dict]:
        from cchc import pipeline

        return pipeline.plan_loads(targets, backfill=params.get("backfill", True))

    @task
    def upgrade_warehouse() -> dict:
        from cchc import pipeline

        return pipeline.upgrade_warehouse()

    @task.sensor(poke_interval=600, timeout=timedelta(days=5).total_seconds(), mode="reschedule")
    def wait_for_period_closed(job: dict) -> PokeReturnValue:
        from cchc import pipeline

        return PokeReturnValue(is_done=pipeline.period_ready(job), xcom_value=job)

    @task(map_index_template="{{ authority_id }}")
    def extract(job: dict, run_id=None) -> dict:
        from cchc import pipeline

        pipeline.label(job)
        return pipeline.extract(job, run_id=run_id)

    @task(map_index_template="{{ authority_id }}")
    def validate(extracted: dict, run_id=None) -> dict:
        from cchc import pipeline

        pipeline.label(extracted)
        return pipeline.validate(extracted, run_id=run_id)

    @task(map_index_template="{{ authority_id }}")
    def load(validated: dict, run_id=None) -> dict:
        from cchc import pipeline

        pipeline.label(validated)
        return pipeline.load(validated, run_id=run_id)

    @task(map_index_template="{{ authority_id }}", outlets=[RATES_ASSET])
    def compute_rates(job: dict) -> dict:
        from cchc import pipeline

        pipeline.label(job)
        return pipeline.rates(job)

    @task(map_index_template="{{ authority_id }}", outlets=[DECISIONS_ASSET])
    def decide(rated: dict, run_id=None) -> dict:
        from cchc import pipeline

        pipeline.label(rated)
        return pipeline.decide(rated, run_id=run_id)

    @task
    def letters_conf(decided: list[dict]) -> dict:
        return {"period": decided[0]["period"], "authorities": [d["authority"] for d in decided]}

    targets = plan()
    loads = plan_loads(targets)
    upgrade_warehouse() >> loads
    ready = wait_for_period_closed.expand(job=loads)
    loaded = load.expand(validated=validate.expand(extracted=extract.expand(job=ready)))
    # Rates only for the run's own period, once every load (backfilled months included) is in.
    rated = compute_rates.expand(job=targets)
    loaded >> rated
    decided = decide.expand(rated=rated)
    TriggerDagRunOperator(
        task_id="trigger_letters",
        trigger_dag_id="cchc_letters",
        conf=letters_conf(decided),
        wait_for_completion=False,
    )


cchc_monthly()
