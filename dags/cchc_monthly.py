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

from datetime import timedelta

from airflow.providers.standard.operators.trigger_dagrun import TriggerDagRunOperator
from airflow.sdk import Asset, CronTriggerTimetable, Param, PokeReturnValue, dag, task

from cchc.pipeline.dag_defaults import START_DATE, common_params, default_args

RATES_ASSET = Asset(name="cchc_rates", uri="cchc://warehouse/rates")
DECISIONS_ASSET = Asset(name="cchc_decisions", uri="cchc://warehouse/decisions")


@dag(
    dag_id="cchc_monthly",
    # 07:00 on the 1st, Vietnam time: the run's logical date falls in the month after the period.
    schedule=CronTriggerTimetable("0 7 1 * *", timezone="Asia/Ho_Chi_Minh"),
    start_date=START_DATE,
    catchup=False,
    # A run waits in its sensor until the portal closes its period (up to five days): the scheduled
    # latest month must never hold back an operator's run of another month, so runs of different
    # periods proceed side by side.
    max_active_runs=16,
    default_args=default_args(),
    tags=["cchc", "monthly"],
    doc_md=__doc__,
    params={
        **common_params("Để trống: mọi cơ quan trong CCHC_CONFIG_DIR."),
        "backfill": Param(
            True,
            type="boolean",
            title="Nạp bổ sung các tháng trước",
            description="Nạp các tháng từ đầu năm mà kho chưa có, để tỷ lệ lũy kế tính đủ.",
        ),
    },
)
def cchc_monthly():
    # Each body imports the task module when it runs, never when the file is parsed.
    @task
    def plan(params=None, logical_date=None) -> list[dict]:
        from cchc.pipeline import tasks

        return tasks.plan(params, logical_date)

    @task
    def plan_loads(targets: list[dict], params=None) -> list[dict]:
        from cchc.pipeline import tasks

        return tasks.plan_loads(targets, backfill=params.get("backfill", True))

    @task
    def upgrade_warehouse() -> dict:
        from cchc.pipeline import tasks

        return tasks.upgrade_warehouse()

    @task.sensor(poke_interval=600, timeout=timedelta(days=5).total_seconds(), mode="reschedule")
    def wait_for_period_closed(job: dict) -> PokeReturnValue:
        from cchc.pipeline import tasks

        return PokeReturnValue(is_done=tasks.period_ready(job), xcom_value=job)

    @task(map_index_template="{{ authority_id }}")
    def extract(job: dict, run_id=None) -> dict:
        from cchc.pipeline import tasks

        tasks.label(job)
        return tasks.extract(job, run_id=run_id)

    @task(map_index_template="{{ authority_id }}")
    def validate(extracted: dict, run_id=None) -> dict:
        from cchc.pipeline import tasks

        tasks.label(extracted)
        return tasks.validate(extracted, run_id=run_id)

    @task(map_index_template="{{ authority_id }}")
    def load(validated: dict, run_id=None) -> dict:
        from cchc.pipeline import tasks

        tasks.label(validated)
        return tasks.load(validated, run_id=run_id)

    @task(map_index_template="{{ authority_id }}", outlets=[RATES_ASSET])
    def compute_rates(job: dict) -> dict:
        from cchc.pipeline import tasks

        tasks.label(job)
        return tasks.rates(job)

    @task(map_index_template="{{ authority_id }}", outlets=[DECISIONS_ASSET])
    def decide(rated: dict, run_id=None) -> dict:
        from cchc.pipeline import tasks

        tasks.label(rated)
        return tasks.decide(rated, run_id=run_id)

    @task
    def letters_conf(decided: list[dict]) -> dict:
        from cchc.pipeline import tasks

        return tasks.letters_conf(decided)

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
