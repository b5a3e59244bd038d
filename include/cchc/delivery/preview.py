"""Before approval: what a distribution would do, sending nothing, and the approver's text."""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from sqlalchemy.engine import Engine

from cchc.core.authorities import Authority
from cchc.core.wording import document_number_text
from cchc.delivery.compose import MailContext, overview_lines
from cchc.delivery.distribute import load_decisions
from cchc.delivery.recipients import distribution_config, plan_recipients
from cchc.letter.records import LetterKey, default_paths, find_letter, letter_row


def distribution_preview(
    engine: Engine,
    authority: Authority,
    letter: LetterKey | str,
    *,
    decisions: Mapping[str, Any] | str | os.PathLike | None = None,
    output_dir: str | os.PathLike | None = None,
) -> dict[str, Any]:
    """What a distribution would do, sending nothing: for the approval task ("Duyệt phát hành").

    Unlike ``distribute`` it does not raise on a refused address: it lists them (``refused``), with the
    units without an address (``missing_email``), the recipients by role and the letter in one line
    per section. JSON-safe.
    """
    out = Path(output_dir) if output_dir is not None else None
    config = distribution_config(authority)
    key = (authority.id, letter) if isinstance(letter, str) else letter
    ref = find_letter(engine, key, output_dir=out)
    data = load_decisions(decisions, authority.id, ref.period, out)
    plan = plan_recipients(authority, data, config)
    units = data.get("units") or {}
    refused = []
    for recipient in plan.recipients:
        if not config.allows(recipient.address):
            who = (
                "; ".join(f"{(units.get(c) or {}).get('name', c)} ({c})" for c in recipient.units)
                or recipient.name
            )
            refused.append(f"{recipient.address} của {who}")
    ctx = MailContext(authority=authority, config=config, letter=ref, decisions=data, from_email="", pdf=b"")
    pdf_default, docx_default = default_paths(authority.id, ref.period, out)
    row = letter_row(engine, ref.letter_id)
    replaced = letter_row(engine, row["replaces_letter_id"]) if row["replaces_letter_id"] else None
    return {
        "replaces": document_number_text(replaced["document_number"], authority.document_symbol)
        if replaced and replaced["document_number"]
        else None,
        "reason": row["reason"],
        "letter_id": ref.letter_id,
        "authority": authority.id,
        "authority_name": authority.name,
        "period": ref.period,
        "period_label": ctx.period_label,
        "status": ref.status,
        "document_number": ref.number_text(authority.document_symbol),
        "pdf": str(ref.pdf_path or pdf_default),
        "docx": str(ref.docx_path or docx_default),
        "require_approval": config.require_approval,
        "approval_timeout_hours": config.approval_timeout_hours,
        "recipients": len(plan.recipients),
        "units": sum(1 for r in plan.recipients if "unit" in r.roles),
        "copies": [c.name for c in config.copies],
        "operators": [c.email for c in config.operators],
        "missing_email": list(plan.missing_email),
        "refused": refused,
        "overview": overview_lines(ctx),
    }


def approval_summary(
    preview: Mapping[str, Any], *, letter_url: str | None = None, content_hash: str | None = None
) -> str:
    """The approval task's text (Markdown, Vietnamese) from ``distribution_preview``.

    ``content_hash`` is the canonical hash of what the draft prints: the approval is recorded against
    it, and the letter is issued only with that content.
    """
    number = preview.get("document_number") or "chưa cấp số (sẽ cấp khi duyệt)"
    lines = [
        f"**Công văn biểu dương, nhắc nhở CCHC tháng {preview['period_label']} — UBND {preview['authority_name']}**",
        "",
        f"- Số văn bản: {number}",
        f"- Tệp PDF: {letter_url or preview['pdf']}",
        f"- Người nhận: {preview['recipients']} địa chỉ ({preview['units']} thủ trưởng cơ quan, đơn vị; "
        f"{len(preview['copies'])} nơi nhận để biết; {len(preview['operators'])} bộ phận theo dõi)",
    ]
    if content_hash:
        lines.append(f"- Mã nội dung bản thảo (để đối chiếu khi cấp số): `{content_hash[:16]}`")
    if preview.get("replaces"):
        lines.append(
            f"- **Phát hành lại, thay thế công văn số {preview['replaces']}**: {preview.get('reason') or ''}"
        )
    if preview.get("missing_email"):
        lines.append(f"- Đơn vị chưa có email (sẽ không nhận được): {', '.join(preview['missing_email'])}")
    if preview.get("refused"):
        lines.append(
            f"- **Địa chỉ ngoài tên miền được phép (sẽ bị từ chối, không gửi thư nào):** "
            f"{'; '.join(preview['refused'])}"
        )
    if preview.get("overview"):
        lines += ["", "Nội dung:", *(f"- {line}" for line in preview["overview"])]
    lines += ["", "Duyệt để cấp số và gửi; từ chối hoặc hết thời hạn duyệt thì không gửi thư nào."]
    return "\n".join(lines) + "\n"
