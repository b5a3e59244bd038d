"""What the operators read of each task in the Airflow UI: its Vietnamese name and its doc (``doc_md``).

The task ids stay in English and stable (``authority.extract``, ``authority.approve`` …): the tests,
the README, the failure alerts, the run outcomes and the operators' page name tasks by them. What a
person reads is the display name (``task_display_name``, shown in the grid and the graph) and the
task's doc (shown on the task instance's page): what the task does and what to do when it fails.

The stages are display names on the tasks rather than task groups nested inside the per-authority
mapped group ``authority``: a nested group would change every task id (``authority.extract`` →
``authority.extract_stage.extract``) and add a level to open for each one-task stage, for no gain.

Imported by the DAG files at parse time: plain strings, nothing else.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Stage:
    name: str  # task_display_name
    doc: str  # doc_md: what it does, then "Khi lỗi" (what the operator does)


_CLEAR = "sửa xong thì chọn tác vụ trong Airflow, **Clear** để chạy lại (chỉ cơ quan này chạy lại)"

STAGES: dict[str, Stage] = {
    "plan": Stage(
        "Lập kế hoạch",
        """\
**Lập kế hoạch** — xác định kỳ báo cáo (tham số `period`, hoặc tháng trước ngày logic của lần chạy,
giờ Việt Nam), đọc cấu hình mọi cơ quan trong `CCHC_CONFIG_DIR` và lập một việc cho mỗi cơ quan
(hoặc các cơ quan trong tham số `authorities`).

**Khi lỗi:** log nêu tệp, dòng và trường cấu hình sai (ví dụ `tu-ky/authority.yaml`), hoặc cơ quan
không tồn tại trong tham số `authorities`. Sửa cấu hình hoặc tham số; """
        + _CLEAR
        + ".",
    ),
    "upgrade_warehouse": Stage(
        "Cập nhật kho dữ liệu",
        """\
**Cập nhật kho dữ liệu** — áp dụng các migration (Alembic) của kho trước khi nạp; hai lần chạy
không bao giờ cập nhật cùng lúc.

**Khi lỗi:** thường là không kết nối được kho (kết nối `cchc_warehouse`). Kiểm tra máy chủ cơ sở dữ
liệu và kết nối; """
        + _CLEAR
        + ". Không sửa cấu trúc kho bằng tay.",
    ),
    "hold": Stage(
        "Giữ lượt",
        """\
**Giữ lượt** — mỗi cơ quan, mỗi kỳ chỉ một lần chạy tại một thời điểm: lần chạy sau chờ ở đây
(kiểm tra lại mỗi 30 giây, tối đa 6 ngày) đến khi lần trước xong. Các cơ quan, các kỳ khác chạy song song.

**Khi chờ lâu:** log nêu lần chạy đang giữ lượt; chờ lần chạy đó kết thúc. Lượt của một lần chạy đã
dừng hẳn được tự động trả lại.""",
    ),
    "plan_loads": Stage(
        "Lập kế hoạch nạp",
        """\
**Lập kế hoạch nạp** — thêm các tháng trước trong năm mà kho chưa có, để tỷ lệ lũy kế năm tính
đủ (tắt bằng tham số `backfill`).

**Khi lỗi:** không đọc được kho (kết nối `cchc_warehouse`); """
        + _CLEAR
        + ".",
    ),
    "wait_for_period_closed": Stage(
        "Chờ khóa số liệu",
        """\
**Chờ khóa số liệu** — chờ Cổng DVC khóa số liệu của kỳ (hoặc tệp Excel xuất từ cổng có trong hộp
thư đến), kiểm tra lại mỗi 10 phút, tối đa 5 ngày.

**Khi lỗi (quá 5 ngày):** cơ quan này dừng, cán bộ vận hành nhận thư cảnh báo. Liên hệ quản trị Cổng
DVC để khóa số liệu (hoặc đặt tệp Excel vào hộp thư đến), rồi **Clear** tác vụ để chờ lại.""",
    ),
    "extract": Stage(
        "Trích xuất",
        """\
**Trích xuất** — lấy số liệu các tháng đã lập kế hoạch từ Cổng DVC (kết nối `cchc_portal`) hoặc tệp
Excel; mọi phản hồi được lưu nguyên văn vào `raw/` kèm `manifest.jsonl`, rồi ghi bảng chuẩn
`extracted/extracted.csv` của từng tháng.

**Khi lỗi:** log nêu địa chỉ gọi và câu trả lời của cổng (lỗi máy chủ, quá tải, phản hồi sai định
dạng); các phản hồi đã lưu trong `raw/` để đối chiếu. Khi cổng hoạt động lại, **Clear** tác vụ.""",
    ),
    "validate": Stage(
        "Kiểm tra dữ liệu",
        """\
**Kiểm tra dữ liệu** — kiểm tra bảng vừa trích xuất bằng Great Expectations trước khi nạp: thiếu,
thừa hay trùng đơn vị, số âm, tử số lớn hơn mẫu số, sai kỳ, tổng không khớp cổng… Kết quả (Data Docs)
ở `validation/index.html`; cảnh báo (ví dụ số tăng gấp mười tháng trước) được ghi lại và vẫn chạy tiếp.

**Khi lỗi:** lỗi nghiêm trọng dừng cơ quan này, **không nạp gì**. Log và thư cảnh báo nêu tháng, đơn
vị, trường sai. Đề nghị đơn vị/quản trị cổng sửa số liệu gốc, rồi chạy lại tháng (hoặc **Clear** từ
tác vụ Trích xuất).""",
    ),
    "load": Stage(
        "Nạp kho",
        """\
**Nạp kho** — cập nhật danh sách đơn vị, rồi nạp bảng đã kiểm tra vào kho trong một giao dịch mỗi
tháng; chạy lại với cùng số liệu không đổi gì, số liệu điều chỉnh thành phiên bản mới.

**Khi lỗi:** không ghi gì (giao dịch bị hủy). Kiểm tra kết nối `cchc_warehouse`; """
        + _CLEAR
        + ".",
    ),
    "compute_rates": Stage(
        "Tính tỷ lệ",
        """\
**Tính tỷ lệ** — tính tỷ lệ tháng, lũy kế năm và từ đầu đợt bằng SQL trong kho; cập nhật Asset
`cchc_rates`.

**Khi lỗi:** thường là kho thiếu một tháng trong năm (log nêu tháng): chạy lại với tham số `backfill`
bật (mặc định), hoặc chạy tháng thiếu trước. Không ghi gì khi thiếu tháng.""",
    ),
    "decide": Stage(
        "Đánh giá",
        """\
**Đánh giá** — biểu dương, nhắc nhở, phê bình (lần thứ mấy trong năm, theo các công văn đã phát hành)
theo bộ quy tắc đang hiệu lực của kỳ; ghi `decisions.json`; cập nhật Asset `cchc_decisions`.

**Khi lỗi:** log nêu quy tắc hoặc đơn vị gây lỗi (ví dụ bộ quy tắc không hợp lệ). Sửa khóa `rules`
trong `authority.yaml` của cơ quan; """
        + _CLEAR
        + ".",
    ),
    "letters_conf": Stage(
        "Chuẩn bị soạn công văn",
        """\
**Chuẩn bị soạn công văn** — tham số cho lần chạy `cchc_letters` của cơ quan và kỳ này.

**Khi lỗi:** """
        + _CLEAR
        + ".",
    ),
    "trigger_letters": Stage(
        "Chuyển sang soạn công văn",
        """\
**Chuyển sang soạn công văn** — kích hoạt DAG `cchc_letters` cho cơ quan và kỳ này (một lần chạy soạn
công văn cho mỗi lần chạy tháng và cơ quan; thử lại dùng lại lần chạy đã có).

**Khi lỗi:** kiểm tra DAG `cchc_letters` đã được bật (không bị tạm dừng); hoặc kích hoạt
`cchc_letters` bằng tay với tham số `period`.""",
    ),
    "release": Stage(
        "Trả lượt",
        """\
**Trả lượt** — trả lượt của cơ quan và kỳ cho lần chạy sau; luôn chạy, dù các bước trước thành công
hay lỗi.

**Khi lỗi:** lượt sẽ được tự động trả khi lần chạy này kết thúc; có thể **Clear** tác vụ.""",
    ),
    "summary": Stage(
        "Tổng hợp",
        """\
**Tổng hợp** — kết quả của từng cơ quan trong lần chạy (trong log và trong
`output/runs/<dag_id>/<run_id>.json`), ví dụ `tu-ky: công văn đã gửi số 01; …`.

**Khi lỗi (đỏ):** có cơ quan không hoàn thành; log liệt kê từng cơ quan và bước lỗi. Mở tác vụ lỗi
của cơ quan đó (nhóm **Cơ quan**, chọn cơ quan) để xem nguyên nhân.""",
    ),
    "render": Stage(
        "Soạn công văn",
        """\
**Soạn công văn** — công văn của lần chạy: dùng lại công văn đã phát hành nếu nội dung in ra không đổi
(chỉ gửi cho người chưa nhận); nếu số liệu đã thay đổi sau khi phát hành thì **không gửi gì**, ghi
`revision.json` và gửi thư cho cán bộ vận hành nêu những gì thay đổi (cũ → mới); nếu chưa phát hành thì
soạn bản thảo `letters/<mã>/draft.pdf` (số để trống).

**Khi có báo cáo điều chỉnh:** công văn đã phát hành vẫn giữ nguyên; muốn thay thế thì kích hoạt
`cchc_letters` với `reissue` = true và `reissue_reason`.
**Khi lỗi:** log nêu nguyên nhân (mẫu công văn, cấu hình `letter:`); """
        + _CLEAR
        + ".",
    ),
    "approve": Stage(
        "Duyệt",
        """\
**Duyệt phát hành** — khi cơ quan yêu cầu duyệt (`distribution.require_approval`), người duyệt của cơ
quan nhận thư kèm bản thảo PDF và duyệt (**Approve**) hoặc từ chối (**Reject**) trong mục
**Required Actions** của Airflow. Không trả lời trong `approval_timeout_hours` (mặc định 72 giờ) là từ
chối. Bỏ qua khi không cần duyệt (công văn đã phát hành, gửi thử, cơ quan không yêu cầu).

**Khi bị từ chối:** không cấp số, không gửi. Sửa điều cần sửa (cấu hình, số liệu), rồi kích hoạt lại
`cchc_letters` với `period` để soạn và duyệt bản thảo mới.""",
    ),
    "issue": Stage(
        "Cấp số",
        """\
**Cấp số** — kiểm tra nội dung vẫn đúng bản đã soạn (và đã duyệt), mọi người nhận có địa chỉ và thuộc
tên miền được phép, rồi mới lấy số tiếp theo của sổ đăng ký năm (không nhảy số; thử lại dùng lại số
đã cấp) và ghi `letters/<mã>/letter.docx`/`.pdf` — không bao giờ thay đổi sau đó. Bỏ qua khi gửi thử,
bị từ chối hay có báo cáo điều chỉnh.

**Khi lỗi:** không số nào bị dùng. Log nêu lý do: nội dung đổi sau khi duyệt (kích hoạt lại
`cchc_letters` để soạn, duyệt bản mới), người nhận thiếu địa chỉ hay ngoài `allowed_domains` (sửa
`units.csv` / `authority.yaml`, rồi **Clear**).""",
    ),
    "distribute": Stage(
        "Phát hành",
        """\
**Phát hành** — gửi công văn có số tới từng người nhận đúng một lần (sổ gửi thư ghi trạng thái, số
lần thử, trả lời của máy chủ thư, Message-ID); chạy lại chỉ gửi cho người chưa nhận. Tham số `dry_run`
gửi tất cả tới địa chỉ thử nghiệm; `resend` gửi lại cho các đơn vị/địa chỉ chọn.

**Khi lỗi:** kiểm tra kết nối `smtp_default`; thư lỗi của từng người nhận được ghi lại và nêu trong thư
tổng hợp (tác vụ Báo cáo). **Clear** chỉ gửi cho người chưa nhận.""",
    ),
    "report": Stage(
        "Báo cáo",
        """\
**Báo cáo** — thư tổng hợp cho cán bộ vận hành: đã gửi, lỗi, không rõ kết quả, chưa gửi, đơn vị
không có địa chỉ email.

**Khi lỗi (đỏ):** có thư lỗi, không rõ kết quả hoặc chưa gửi (xem thư tổng hợp). Sửa địa chỉ trong
`units.csv` rồi chạy lại tháng; gửi lại bằng tham số `resend`; thư "không rõ" thì kiểm tra nhật ký máy
chủ thư theo Message-ID rồi dùng `cchc distribute --settle`. Tác vụ không tự thử lại.""",
    ),
    "find_late_letters": Stage(
        "Kiểm tra hạn gửi",
        """\
**Kiểm tra hạn gửi** — với mỗi cơ quan: nếu đã qua ngày hạn gửi công văn của kỳ (ngày
`distribution.send_by_day` của tháng sau kỳ, mặc định ngày 5) mà công văn chưa gửi xong, gửi thư cảnh
báo tới cán bộ vận hành của cơ quan đó, nêu điều đang giữ công văn (chưa có quyết định, bản thảo chờ
duyệt từ …, thư lỗi/không rõ/chưa gửi, tác vụ lỗi). Mỗi cơ quan, mỗi kỳ chỉ cảnh báo một lần.

**Khi lỗi:** kiểm tra kết nối `cchc_warehouse` và `smtp_default`; """
        + _CLEAR
        + " (cơ quan đã được cảnh báo không bị cảnh báo lại).",
    ),
}


def stage(task_id: str) -> dict[str, Any]:
    """The task's ``task_display_name`` and ``doc_md``, as keyword arguments of its decorator/operator."""
    found = STAGES[task_id]
    return {"task_display_name": found.name, "doc_md": found.doc}
