"""
### Thư CCHC hằng tháng — soạn, duyệt, cấp số và gửi công văn (`cchc_letters`)

Được DAG `cchc_monthly` kích hoạt sau khi đã có quyết định của kỳ (hoặc chạy tay với tham số
`period` = `YYYY-MM`), cho từng cơ quan ban hành:

1. **render** — soạn bản thảo công văn (`letter.docx`, `letter.pdf`, phụ lục) từ `decisions.json`,
   số văn bản để trống; chạy lại với cùng quyết định thì dùng lại công văn đã có;
2. **gate → approval_body → approve** — khi cơ quan yêu cầu duyệt (`distribution.require_approval`),
   tác vụ **Duyệt phát hành** chờ người duyệt trong giao diện Airflow (Approve / Reject); từ chối
   hoặc quá hạn (72 giờ) thì không cấp số, không gửi;
3. **issue** — cấp số văn bản từ sổ đăng ký theo năm (không nhảy số; thử lại dùng lại số đã cấp) và
   ghi số vào DOCX, PDF;
4. **distribute** — gửi thư tới từng người nhận đúng một lần (sổ gửi thư trong kho dữ liệu); tham số
   `dry_run` gửi tất cả tới một địa chỉ thử nghiệm, `resend` gửi lại cho các đơn vị/địa chỉ chọn;
5. **report** — gửi thư tổng hợp cho cán bộ vận hành; báo lỗi (đỏ) nếu có thư lỗi hoặc không rõ kết quả.

Mọi tác vụ lỗi đều gửi cảnh báo cho cán bộ vận hành qua kết nối `smtp_default`.
Kết nối dùng: `cchc_warehouse`, `smtp_default`.
"""

from __future__ import annotations

from datetime import timedelta

from airflow.providers.standard.operators.hitl import ApprovalOperator
from airflow.sdk import Param, dag, task

from cchc.pipeline.dag_defaults import START_DATE, common_params, default_args


@dag(
    dag_id="cchc_letters",
    schedule=None,
    start_date=START_DATE,
    catchup=False,
    # One distribution per letter at a time: the ledger's crash recovery relies on it.
    max_active_runs=1,
    default_args=default_args(),
    tags=["cchc", "letters"],
    doc_md=__doc__,
    params={
        **common_params("Để trống: mọi cơ quan."),
        "dry_run": Param(
            False, type="boolean", title="Gửi thử", description="Gửi mọi thư tới địa chỉ thử nghiệm."
        ),
        "test_address": Param(None, type=["null", "string"], title="Địa chỉ thử nghiệm"),
        "resend": Param(
            [], type="array", title="Gửi lại cho", description="Mã đơn vị hoặc địa chỉ email cần gửi lại."
        ),
    },
)
def cchc_letters():
    # Each body imports the task module when it runs, never when the file is parsed.
    @task
    def plan(params=None, logical_date=None) -> list[dict]:
        from cchc.pipeline import tasks

        return tasks.plan(params, logical_date)

    @task(map_index_template="{{ authority_id }}")
    def render(job: dict, run_id=None) -> dict:
        from cchc.pipeline import tasks

        tasks.label(job)
        return tasks.render(job, run_id=run_id)

    @task.branch
    def gate(rendered: list[dict]) -> str:
        from cchc.pipeline import tasks

        return "approval_body" if tasks.needs_approval(rendered) else "issue"

    @task
    def approval_body(rendered: list[dict]) -> str:
        from cchc.pipeline import tasks

        return tasks.approval_body(rendered)

    approve = ApprovalOperator(
        task_id="approve",
        subject="Duyệt phát hành công văn CCHC kỳ {{ ti.xcom_pull(task_ids='plan')[0]['period'] }}",
        body="{{ ti.xcom_pull(task_ids='approval_body') }}",
        defaults="Reject",  # no answer before the timeout counts as a rejection
        response_timeout=timedelta(hours=72),
        retries=0,
    )

    @task(map_index_template="{{ authority_id }}", trigger_rule="none_failed_min_one_success")
    def issue(job: dict, logical_date=None, run_id=None) -> dict:
        from cchc.pipeline import tasks

        tasks.label(job)
        return tasks.issue(job, logical_date=logical_date, run_id=run_id)

    @task(map_index_template="{{ authority_id }}")
    def distribute(job: dict, params=None, run_id=None) -> dict:
        from cchc.pipeline import tasks

        tasks.label(job)
        return tasks.distribute(job, params=params, run_id=run_id)

    # Not retried: a retry would only send the operators' summary again.
    @task(map_index_template="{{ authority_id }}", retries=0)
    def report(job: dict) -> dict:
        from cchc.pipeline import tasks

        tasks.label(job)
        return tasks.report(job)

    rendered = render.expand(job=plan())
    branch = gate(rendered)
    body = approval_body(rendered)
    issued = issue.expand(job=rendered)
    branch >> [body, issued]
    body >> approve >> issued
    report.expand(job=distribute.expand(job=issued))


cchc_letters()
