"""A period's decisions in plain Vietnamese, for an operator (task log, ``cchc decide``).

Reads only decisions.json (the document), so what the operator reads is what the letter will word.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from decimal import Decimal
from pathlib import Path
from typing import Any

from cchc.core import wording
from cchc.core.percent import format_decimal

METRIC_NAMES = {
    "receipt": "số hóa hồ sơ khi tiếp nhận",
    "result": "số hóa kết quả giải quyết TTHC",
    "payment": "thanh toán trực tuyến",
    "posts": "tin bài đăng tải",
}
SHORT = {"receipt": "tiếp nhận", "result": "giải quyết", "payment": "thanh toán trực tuyến"}
GROUP_NAMES = {
    "agencies": "Cơ quan, đơn vị",
    "communes_official_email": "UBND cấp xã sử dụng thư điện tử công vụ thường xuyên",
    "communes": "UBND cấp xã",
}
REASON_NAMES = {
    "low_month": "tỷ lệ trong tháng thấp",
    "low_ytd": "tháng đạt nhưng lũy kế từ đầu năm thấp",
    "low_campaign": "tháng đạt nhưng lũy kế từ đầu đợt thấp",
}


def _pct(text: str | None) -> str:
    return text if text else "không phát sinh hồ sơ"


def _threshold(value: Any) -> str:
    return f"{format_decimal(Decimal(str(value)))}%"


def _window(document: Mapping[str, Any], metric: str, window: str) -> str:
    if window == "month":
        return f"tháng {document['period_label']}"
    if window == "ytd":
        return document["windows"]["ytd"]["label"]
    return document["windows"]["campaign"][metric]["label"]


def _reasons(document: Mapping[str, Any], reasons: Iterable[Mapping[str, Any]]) -> str:
    parts = []
    for r in reasons:
        if r["metric"] == "posts":
            parts.append(f"{r['value']} tin bài (yêu cầu {r['threshold']})")
            continue
        sign = "dưới" if r["comparison"] == "below" else "đạt"
        parts.append(
            f"{SHORT[r['metric']]} {_window(document, r['metric'], r['window'])} {_pct(r['text'])} "
            f"({r['numerator']}/{r['denominator']}; {sign} {_threshold(r['threshold'])})"
        )
    return "; ".join(parts)


def _name(document: Mapping[str, Any], code: str) -> str:
    return document["units"][code]["name"]


def _commend_line(document: Mapping[str, Any], code: str) -> str:
    figures = document["units"][code]["figures"]
    parts = [
        f"{SHORT[m]} {figures[m]['month']['text']}"
        for m in ("receipt", "result", "payment")
        if figures[m]["month"]["text"] is not None
    ]
    return f"{_name(document, code)} ({'; '.join(parts)})"


def _request_line(request: Mapping[str, Any]) -> str:
    """'Yêu cầu: …', or 'Đề nghị: …; yêu cầu: …' where the group holds a vertical agency."""
    if "asked" not in request:
        return f"Yêu cầu: {request['heads']}"
    line = f"Đề nghị: {request['asked']['heads']}"
    if request.get("required"):
        line += f"; yêu cầu: {request['required']['heads']}"
    return line


def decisions_text(
    document: Mapping[str, Any], recounted: Sequence[str] = (), path: str | Path | None = None
) -> str:
    lines: list[str] = []
    authority = document["authority"]
    targets = document["targets"]
    lines.append(
        f"Quyết định cải cách hành chính tháng {document['period_label']} — {authority['name']} "
        f"({authority['id']})"
    )
    payment = (
        f"chỉ tiêu thanh toán trực tuyến {_threshold(targets['payment_target'])}"
        if targets["payment_target"] is not None
        else "chưa có chỉ tiêu thanh toán trực tuyến"
    )
    lines.append(
        f"Bộ quy tắc {document['rulebook']['version']}: biểu dương khi tiếp nhận ≥ "
        f"{_threshold(targets['commend_receipt'])} và giải quyết ≥ {_threshold(targets['commend_result'])}; "
        f"nhắc nhở khi dưới {_threshold(targets['low_month'])} (lũy kế năm dưới "
        f"{_threshold(targets['low_ytd'])}); {payment}; {targets['posts_required']} tin bài mỗi tháng"
    )
    totals = document["totals"]
    lines.append(
        f"Toàn {authority['name']}: "
        + "; ".join(
            f"{SHORT[m]} {_pct(totals[m]['text'])}"
            + (f" ({totals[m]['change_text']})" if totals[m]["change_text"] else "")
            for m in ("receipt", "result", "payment")
        )
        + f"; {totals['posts']['numerator']} tin bài"
    )
    if document.get("operator_note"):
        lines.append(f"Nhận xét của cán bộ: {document['operator_note']}")
    lines.append("")

    for section in document["sections"]:
        number, kind = section["number"], section["kind"]
        if kind == "commend":
            total = sum(len(g["units"]) for g in section["groups"])
            lines.append(f"{number}. Biểu dương ({wording.count(total)} cơ quan, đơn vị)")
            for group in section["groups"]:
                lines.append(f"   {GROUP_NAMES[group['group']]}:")
                lines.extend(f"   - {_commend_line(document, code)}" for code in group["units"])
        elif kind == "remind":
            lines.append(f"{number}. Nhắc nhở")
            for sub in section["subsections"]:
                lines.append(f"   {sub['number']}. Về {METRIC_NAMES[sub['metric']]}")
                for group in sub["groups"]:
                    lines.append(f"     {REASON_NAMES[group['reason']].capitalize()}:")
                    for entry in group["entries"]:
                        lines.append(
                            f"     - {_name(document, entry['unit'])}: {_reasons(document, entry['reasons'])}"
                        )
                    lines.append(f"     {_request_line(group['request'])}")
        elif kind == "criticise":
            ordinal = f" {section['ordinal']}" if section["ordinal"] else ""
            lines.append(f"{number}. Phê bình{ordinal} đối với {section['subjects']}")
            for entry in section["entries"]:
                lines.append(f"   - {_name(document, entry['unit'])}: {_reasons(document, entry['reasons'])}")
        elif kind == "request":
            lines.append(f"{number}. Đề nghị {section['heads']}")
            for entry in section["entries"]:
                lines.append(f"   - {_name(document, entry['unit'])}: {_reasons(document, entry['reasons'])}")
        elif kind == "directives":
            payment_line = (
                f"thanh toán trực tuyến từ {_threshold(targets['payment_target'])} trở lên; "
                if targets["payment_target"] is not None
                else ""
            )
            whom = "; ".join(
                part
                for part in (
                    f"Giao {section['addressees']}" if section.get("addressees") else "",
                    f"đề nghị {section['requested']}" if section.get("requested") else "",
                )
                if part
            )
            lines.append(
                f"{number}. {whom[:1].upper()}{whom[1:]} thực hiện: số hóa hồ sơ và kết quả đạt "
                f"{_threshold(targets['digitization_target'])}; {payment_line}"
                f"đăng tải tin bài thường xuyên (ít nhất {targets['posts_required']} tin bài mỗi tháng)"
            )
    shortfalls = document["shortfalls"]
    if shortfalls["payment"] or shortfalls["posts"]:
        lines.append("")
        if shortfalls["payment"]:
            lines.append(
                "Thanh toán trực tuyến tháng chưa đạt chỉ tiêu: "
                + ", ".join(_name(document, c) for c in shortfalls["payment"])
            )
        if shortfalls["posts"]:
            lines.append("Chưa đủ tin bài: " + ", ".join(_name(document, c) for c in shortfalls["posts"]))
    if recounted:
        lines.append("")
        lines.append(
            f"Lưu ý: số lần phê bình của kỳ {', '.join(recounted)} đã được tính lại; tạo lại công văn "
            "của các kỳ này nếu đã tạo."
        )
    if path is not None:
        lines.append("")
        lines.append(f"Tệp quyết định: {path}")
    return "\n".join(lines)
