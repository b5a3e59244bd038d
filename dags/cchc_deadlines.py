"""
### Hạn gửi công văn CCHC (`cchc_deadlines`)

Mỗi ngày lúc 08:00 (giờ Việt Nam), với **mỗi cơ quan**: nếu đã qua hạn gửi công văn của tháng trước
(ngày `distribution.send_by_day` của tháng sau kỳ, trong `authority.yaml`; mặc định ngày 5) mà công văn
chưa gửi xong, gửi **một** thư cảnh báo tới cán bộ vận hành của cơ quan đó (`distribution.operators`),
nêu điều đang giữ công văn: chưa có số liệu hay quyết định, bản thảo chờ duyệt từ …, bản thảo bị từ
chối, thư lỗi / không rõ kết quả / chưa gửi, bước lỗi của lần chạy gần nhất.

Mỗi cơ quan, mỗi kỳ chỉ được cảnh báo một lần (ghi trong bảng `deadline_alerts` của kho): chạy lại
không gửi lại. "Hôm nay" là ngày logic của lần chạy, không phải đồng hồ máy.

1. **upgrade_warehouse** — áp dụng các migration của kho dữ liệu;
2. **find_late_letters** — kiểm tra và cảnh báo (log liệt kê từng cơ quan: đúng hạn, chưa tới hạn, quá hạn).

Kết nối dùng: `cchc_warehouse`, `smtp_default`.
"""

from __future__ import annotations

from airflow.sdk import CronTriggerTimetable, dag, task

from cchc.pipeline.dag_defaults import START_DATE, default_args
from cchc.pipeline.stages import stage


@dag(
    dag_id="cchc_deadlines",
    # 08:00 every day, Vietnam time: the day after an authority's deadline, its late letter is reported.
    schedule=CronTriggerTimetable("0 8 * * *", timezone="Asia/Ho_Chi_Minh"),
    start_date=START_DATE,
    catchup=False,
    max_active_runs=1,
    default_args=default_args(),
    tags=["cchc", "deadlines"],
    doc_md=__doc__,
)
def cchc_deadlines():
    # Each body imports the task module when it runs, never when the file is parsed.
    @task(**stage("upgrade_warehouse"))
    def upgrade_warehouse() -> dict:
        from cchc.pipeline import tasks

        return tasks.upgrade_warehouse()

    @task(**stage("find_late_letters"))
    def find_late_letters(logical_date=None, run_id=None, dag_run=None) -> dict:
        from cchc.pipeline import tasks

        return tasks.deadlines(logical_date, run_id=run_id, run_after=getattr(dag_run, "run_after", None))

    upgrade_warehouse() >> find_late_letters()


cchc_deadlines()
