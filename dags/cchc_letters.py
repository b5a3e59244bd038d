"""
### Thư CCHC hằng tháng — soạn, duyệt, cấp số và gửi công văn (`cchc_letters`)

Được DAG `cchc_monthly` kích hoạt cho từng cơ quan khi đã có quyết định của kỳ (hoặc chạy tay với
tham số `period` = `YYYY-MM`). **Mỗi cơ quan chạy riêng** trong nhóm tác vụ `authority`: một cơ quan
bị từ chối duyệt hay lỗi không giữ lại cơ quan khác.

Công văn đã phát hành là văn bản lưu trữ: chạy lại không bao giờ cấp số lại, sửa hay gửi lại cho
người đã nhận.

1. **authority.hold** — giữ lượt: hai lần chạy cùng cơ quan, cùng kỳ không chạy chồng lên nhau;
2. **authority.render** — công văn của lần chạy: dùng lại công văn đã phát hành nếu nội dung in ra
   không đổi (chỉ gửi cho người chưa nhận, ví dụ địa chỉ vừa sửa); nếu số liệu đã thay đổi sau khi
   phát hành thì **không gửi gì**, ghi `revision.json` và báo cán bộ vận hành những gì thay đổi (cũ →
   mới); nếu chưa phát hành thì soạn bản thảo (`letters/<mã>/draft.pdf`, số để trống);
3. **authority.approve** — **Duyệt phát hành** khi cơ quan yêu cầu duyệt (`distribution.require_approval`):
   người duyệt của cơ quan nhận thư kèm bản thảo, duyệt hoặc từ chối trong Required Actions;
   quá hạn (`approval_timeout_hours`, mặc định 72 giờ) là từ chối; điều được duyệt (mã nội dung, tệp
   PDF) được ghi vào kho;
4. **authority.issue** — kiểm tra nội dung vẫn đúng bản đã soạn (và đã duyệt), người nhận và tên miền
   được phép, rồi mới cấp số từ sổ đăng ký theo năm (năm của tham số `issued_at`, hoặc của ngày logic;
   không nhảy số; thử lại dùng lại số đã cấp) và
   ghi tệp có số `letters/<mã>/letter.pdf` — không bao giờ thay đổi sau đó; gửi thử không cấp số;
5. **authority.distribute** — gửi thư tới từng người nhận đúng một lần (sổ gửi thư); `dry_run` gửi
   tất cả tới địa chỉ thử nghiệm, `resend` gửi lại cho các đơn vị/địa chỉ chọn;
6. **authority.report** — thư tổng hợp cho cán bộ vận hành; báo lỗi (đỏ) nếu có thư lỗi hay không rõ;
7. **summary** — kết quả của từng cơ quan trong lần chạy.

**Phát hành lại** (thay thế công văn đã phát hành): tham số `reissue` = true kèm `reissue_reason`; công
văn mới được duyệt (nếu cơ quan yêu cầu), cấp số mới, ghi "Công văn này thay thế Công văn số …", công
văn cũ chuyển sang "đã được thay thế".

Mọi tác vụ lỗi đều gửi cảnh báo cho cán bộ vận hành của cơ quan qua kết nối `smtp_default`.
Kết nối dùng: `cchc_warehouse`, `smtp_default`.
"""

from __future__ import annotations

from datetime import timedelta

from airflow.sdk import Param, PokeReturnValue, dag, task, task_group

from cchc.pipeline.approval import LetterApproval
from cchc.pipeline.dag_defaults import (
    HOLD_POKE_SECONDS,
    START_DATE,
    common_params,
    default_args,
    issued_at_param,
)
from cchc.pipeline.stages import stage

SCOPE = "cchc_letters"
LABEL = "{{ authority_id }}"


@dag(
    dag_id="cchc_letters",
    schedule=None,
    start_date=START_DATE,
    catchup=False,
    # One run per authority and period at a time (authority.hold); the ledger's leases make two
    # distributions of one letter safe anyway.
    max_active_runs=16,
    default_args=default_args(),
    tags=["cchc", "letters"],
    doc_md=__doc__,
    params={
        **common_params("Để trống: mọi cơ quan."),
        "dry_run": Param(
            False, type="boolean", title="Gửi thử", description="Gửi mọi thư tới địa chỉ thử nghiệm."
        ),
        "test_address": Param(
            None,
            type=["null", "string"],
            title="Địa chỉ thử nghiệm",
            description="Khi gửi thử: địa chỉ nhận mọi thư. Để trống: địa chỉ thử nghiệm trong cấu hình cơ quan.",
        ),
        "resend": Param(
            [], type="array", title="Gửi lại cho", description="Mã đơn vị hoặc địa chỉ email cần gửi lại."
        ),
        "issued_at": issued_at_param(
            "Để trống: ngày logic của lần chạy (hoặc lúc cấp số, khi lần chạy không có ngày logic). "
            "Dùng khi chạy lại một tháng đã qua, ví dụ 2023-09-01T07:00:00+07:00 (make run ghi ngày 1 "
            "của tháng sau kỳ): năm của ngày này là năm của sổ đăng ký số."
        ),
        "reissue": Param(
            False,
            type="boolean",
            title="Phát hành lại (thay thế công văn đã phát hành)",
            description="Soạn công văn mới thay thế công văn đã phát hành của kỳ: cấp số mới, ghi rõ thay thế.",
        ),
        "reissue_reason": Param(
            None,
            type=["null", "string"],
            title="Lý do phát hành lại",
            description="Bắt buộc khi phát hành lại, ví dụ: số liệu tháng được Cổng DVC điều chỉnh ngày 10.",
        ),
    },
)
def cchc_letters():
    # Each body imports the task module when it runs, never when the file is parsed.
    @task(**stage("plan"))
    def plan(params=None, logical_date=None) -> list[dict]:
        from cchc.pipeline import tasks

        return tasks.plan(params, logical_date)

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

        @task(map_index_template=LABEL, **stage("render"))
        def render(job: dict, params=None, run_id=None) -> dict:
            from cchc.pipeline import tasks

            tasks.label(job)
            return tasks.render(job, params=params, run_id=run_id)

        # Skipped when no approval is needed; Reject skips what follows.
        @task(map_index_template=LABEL, trigger_rule="none_failed", **stage("issue"))
        def issue(rendered: dict, params=None, logical_date=None, run_id=None) -> dict:
            from cchc.pipeline import tasks

            tasks.label(rendered)
            return tasks.issue(rendered, params=params, logical_date=logical_date, run_id=run_id)

        @task(map_index_template=LABEL, trigger_rule="none_failed", **stage("distribute"))
        def distribute(rendered: dict, params=None, run_id=None) -> dict:
            from cchc.pipeline import tasks

            tasks.label(rendered)
            return tasks.distribute(rendered, params=params, run_id=run_id)

        # Not retried: a retry would only send the operators' summary again.
        @task(map_index_template=LABEL, retries=0, **stage("report"))
        def report(distributed: dict) -> dict:
            from cchc.pipeline import tasks

            tasks.label(distributed)
            return tasks.report(distributed)

        # Whatever happened, this run gives the authority's period back to the next one.
        @task(map_index_template=LABEL, trigger_rule="all_done", **stage("release"))
        def release(job: dict, run_id=None) -> None:
            from cchc.pipeline import tasks

            tasks.label(job)
            tasks.release(job, SCOPE, run_id)

        rendered = render(hold(job))
        approve = LetterApproval(
            task_id="approve", letter=rendered, retries=0, map_index_template=LABEL, **stage("approve")
        )
        issued = issue(rendered)
        sent = distribute(rendered)
        approve >> issued >> sent
        report(sent) >> release(job)

    @task(trigger_rule="all_done", **stage("summary"))
    def summary(jobs: list[dict], dag_run=None) -> dict:
        from cchc.pipeline import tasks

        return tasks.summary(jobs, "cchc_letters", dag_run.run_id, "authority")

    jobs = plan()
    authority.expand(job=jobs) >> summary(jobs)


cchc_letters()
