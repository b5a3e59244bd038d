"""
### Thư CCHC hằng tháng — số liệu và tỷ lệ (`cchc_monthly`)

Mỗi tháng, **mỗi cơ quan ban hành trong `CCHC_CONFIG_DIR` chạy riêng** trong nhóm tác vụ `authority`
(một bản cho mỗi cơ quan): lỗi số liệu, nguồn trễ hay lỗi của một cơ quan chỉ dừng cơ quan đó.

1. **upgrade_warehouse** — áp dụng các migration của kho dữ liệu (không bao giờ sửa tay);
   **plan** — xác định kỳ báo cáo (tháng trước ngày logic, giờ Việt Nam, hoặc tham số `period`
   dạng `YYYY-MM` khi chạy tay) và đọc cấu hình các cơ quan;
2. **authority.hold** — giữ lượt: hai lần chạy cùng cơ quan, cùng kỳ không chạy chồng lên nhau (lần
   sau chờ); các kỳ, các cơ quan khác chạy song song;
3. **authority.plan_loads** — thêm các tháng trước trong năm mà kho chưa có (nạp bổ sung để tỷ lệ lũy
   kế đúng; tắt bằng tham số `backfill`);
4. **authority.wait_for_period_closed** — chờ Cổng DVC khóa số liệu (cảm biến, chế độ reschedule);
5. **authority.extract** — lấy số liệu từ Cổng DVC (hoặc tệp Excel), lưu nguyên văn mọi phản hồi vào
   `raw/` kèm manifest, rồi ghi bảng chuẩn `extracted/extracted.csv` của từng tháng;
6. **authority.validate** — kiểm tra bằng Great Expectations; lỗi nghiêm trọng dừng cơ quan này trước
   khi nạp (log nêu rõ tháng, đơn vị, trường), cảnh báo được ghi lại; Data Docs ở `validation/`;
7. **authority.load** — nạp bảng đã kiểm tra vào kho (một giao dịch mỗi tháng, có phiên bản);
8. **authority.compute_rates** — tính tỷ lệ tháng, lũy kế năm và từ đầu đợt bằng SQL trong kho (từ
   chối, không ghi gì, khi thiếu tháng); cập nhật Asset `cchc_rates`;
9. **authority.decide** — biểu dương / nhắc nhở / phê bình (lần thứ mấy trong năm, theo các công văn
   đã phát hành) theo bộ quy tắc đang hiệu lực; ghi `decisions.json`; cập nhật Asset `cchc_decisions`;
10. **authority.trigger_letters** — kích hoạt DAG `cchc_letters` cho cơ quan và kỳ này (kèm tham số
    `issued_at` của lần chạy, nếu có);
11. **summary** — kết quả của từng cơ quan trong lần chạy (báo lỗi nếu có cơ quan không hoàn thành).

Kết quả nằm dưới `CCHC_OUTPUT_DIR/<cơ quan>/<kỳ>/`. Mọi tác vụ lỗi đều gửi cảnh báo cho cán bộ vận
hành của cơ quan đó qua `smtp_default`. Kết nối dùng: `cchc_portal`, `cchc_warehouse`, `smtp_default`.
"""

from __future__ import annotations

from datetime import timedelta

from airflow.providers.standard.operators.trigger_dagrun import TriggerDagRunOperator
from airflow.sdk import Asset, CronTriggerTimetable, Param, PokeReturnValue, dag, task, task_group

from cchc.pipeline.dag_defaults import (
    HOLD_POKE_SECONDS,
    START_DATE,
    common_params,
    default_args,
    issued_at_param,
)
from cchc.pipeline.stages import stage

RATES_ASSET = Asset(name="cchc_rates", uri="cchc://warehouse/rates")
DECISIONS_ASSET = Asset(name="cchc_decisions", uri="cchc://warehouse/decisions")
SCOPE = "cchc_monthly"
LABEL = "{{ authority_id }}"


@dag(
    dag_id="cchc_monthly",
    # 07:00 on the 1st, Vietnam time: the run's logical date falls in the month after the period.
    schedule=CronTriggerTimetable("0 7 1 * *", timezone="Asia/Ho_Chi_Minh"),
    start_date=START_DATE,
    catchup=False,
    # A run waits in its sensor until the portal closes its period (up to five days): the scheduled
    # latest month must never hold back an operator's run of another month, so runs of different
    # periods go side by side; two runs of the same authority and period exclude each other
    # (authority.hold).
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
        # Passed on to the cchc_letters runs: a past month run again under a scheduler (make
        # run-celery) issues its letters with the date make run gives them.
        "issued_at": issued_at_param(
            "Chuyển cho các lần chạy cchc_letters mà lần chạy này kích hoạt. Để trống: ngày logic của lần "
            "chạy cchc_letters. Dùng khi chạy lại một tháng đã qua, ví dụ 2023-09-01T07:00:00+07:00."
        ),
    },
)
def cchc_monthly():
    # Each body imports the task module when it runs, never when the file is parsed.
    @task(**stage("plan"))
    def plan(params=None, logical_date=None) -> list[dict]:
        from cchc.pipeline import tasks

        return tasks.plan(params, logical_date)

    @task(**stage("upgrade_warehouse"))
    def upgrade_warehouse() -> dict:
        from cchc.pipeline import tasks

        return tasks.upgrade_warehouse()

    @task_group(group_id="authority", group_display_name="Cơ quan")
    def authority(job: dict):
        @task.sensor(
            poke_interval=HOLD_POKE_SECONDS,
            timeout=timedelta(days=6).total_seconds(),
            mode="reschedule",
            map_index_template=LABEL,
            **stage("hold"),
        )
        def hold(job: dict, run_id=None) -> PokeReturnValue:
            from cchc.pipeline import tasks

            tasks.label(job)
            return PokeReturnValue(is_done=tasks.hold(job, SCOPE, run_id), xcom_value=job)

        @task(map_index_template=LABEL, **stage("plan_loads"))
        def plan_loads(job: dict, params=None) -> dict:
            from cchc.pipeline import tasks

            tasks.label(job)
            return tasks.plan_loads(job, backfill=params.get("backfill", True))

        @task.sensor(
            poke_interval=600,
            timeout=timedelta(days=5).total_seconds(),
            mode="reschedule",
            map_index_template=LABEL,
            **stage("wait_for_period_closed"),
        )
        def wait_for_period_closed(loads: dict) -> PokeReturnValue:
            from cchc.pipeline import tasks

            tasks.label(loads)
            return PokeReturnValue(is_done=tasks.period_ready(loads), xcom_value=loads)

        @task(map_index_template=LABEL, **stage("extract"))
        def extract(loads: dict, run_id=None) -> dict:
            from cchc.pipeline import tasks

            tasks.label(loads)
            return tasks.extract(loads, run_id=run_id)

        @task(map_index_template=LABEL, **stage("validate"))
        def validate(extracted: dict, run_id=None) -> dict:
            from cchc.pipeline import tasks

            tasks.label(extracted)
            return tasks.validate(extracted, run_id=run_id)

        @task(map_index_template=LABEL, **stage("load"))
        def load(validated: dict, run_id=None) -> dict:
            from cchc.pipeline import tasks

            tasks.label(validated)
            return tasks.load(validated, run_id=run_id)

        @task(map_index_template=LABEL, outlets=[RATES_ASSET], **stage("compute_rates"))
        def compute_rates(loaded: dict) -> dict:
            from cchc.pipeline import tasks

            tasks.label(loaded)
            return tasks.rates(loaded)

        @task(map_index_template=LABEL, outlets=[DECISIONS_ASSET], **stage("decide"))
        def decide(rated: dict, run_id=None) -> dict:
            from cchc.pipeline import tasks

            tasks.label(rated)
            return tasks.decide(rated, run_id=run_id)

        @task(map_index_template=LABEL, **stage("letters_conf"))
        def letters_conf(decided: dict, params=None) -> dict:
            from cchc.pipeline import tasks

            tasks.label(decided)
            return tasks.letters_conf(decided, params)

        # Whatever happened, this run gives the authority's period back to the next one.
        @task(map_index_template=LABEL, trigger_rule="all_done", **stage("release"))
        def release(job: dict, run_id=None) -> None:
            from cchc.pipeline import tasks

            tasks.label(job)
            tasks.release(job, SCOPE, run_id)

        held = hold(job)
        decided = decide(compute_rates(load(validate(extract(wait_for_period_closed(plan_loads(held)))))))
        trigger_letters = TriggerDagRunOperator(
            task_id="trigger_letters",
            trigger_dag_id="cchc_letters",
            # One letters run per authority and period: its own approval, its own outcome.
            trigger_run_id="{{ run_id }}__letters__{{ ti.map_index }}",
            conf=letters_conf(decided),
            wait_for_completion=False,
            skip_when_already_exists=True,  # a retry finds its run there
            **stage("trigger_letters"),
        )
        trigger_letters >> release(job)

    @task(trigger_rule="all_done", **stage("summary"))
    def summary(jobs: list[dict], dag_run=None) -> dict:
        from cchc.pipeline import tasks

        return tasks.summary(jobs, "cchc_monthly", dag_run.run_id, "authority")

    jobs = plan()
    groups = authority.expand(job=jobs)
    upgrade_warehouse() >> groups
    groups >> summary(jobs)


cchc_monthly()
