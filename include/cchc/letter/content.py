"""What a letter prints, as one canonical hash, and what changed between two versions of it.

decisions.json also holds contact data (each unit's email) and the rulebook's bookkeeping, which the
letter does not print: a corrected address must not make a new letter. The content of a letter is
decisions.json without them, plus the lines of authority.yaml the letter prints (issuing body,
place, signer, recipients, copies, the ``letter:`` wording). Two letters with the same content hash
read the same, word for word.
"""

from __future__ import annotations

import copy
import dataclasses
import hashlib
import json
from collections.abc import Mapping
from typing import Any

from cchc.core.authorities import Authority
from cchc.core.fields import METRIC_LABELS, RATE_METRICS

# Keys of decisions.json the letter does not print: at the top, in each unit, and anywhere (each
# decision names the rulebook version it came from; a new version with the same values prints the same).
UNPRINTED_KEYS = ("schema", "rulebook")
UNPRINTED_UNIT_KEYS = ("email",)
UNPRINTED_ANYWHERE = ("rulebook_version",)
WINDOW_LABELS = {"month": "tháng", "ytd": "lũy kế năm", "campaign": "từ đầu đợt"}
KIND_LABELS = {
    "commend": "biểu dương",
    "remind": "nhắc nhở",
    "criticise": "phê bình",
    "request": "đề nghị",
    "directives": "giao nhiệm vụ",
}


def authority_printed(authority: Authority) -> dict[str, Any]:
    """The lines of authority.yaml the letter prints, and the wording it follows (the ``letter:``
    block with this authority's defaults filled in, as the letter is rendered with it)."""
    signer = authority.signer
    wording = json.loads(json.dumps(dataclasses.asdict(authority.letter_wording), ensure_ascii=False))
    return {
        "name": authority.name,
        "level": authority.level,
        "issuing_body": list(authority.issuing_body),
        "place": authority.place,
        "document_symbol": authority.document_symbol,
        "signer": {"on_behalf": signer.on_behalf, "title": signer.title, "name": signer.name},
        "recipients": list(authority.recipients),
        "copies": list(authority.copies),
        "letter": wording,
    }


def printed_content(decisions: Mapping[str, Any], authority: Authority) -> dict[str, Any]:
    """decisions.json without what the letter does not print, with the authority's printed lines."""
    content = _without(
        {k: copy.deepcopy(v) for k, v in decisions.items() if k not in UNPRINTED_KEYS}, UNPRINTED_ANYWHERE
    )
    for unit in (content.get("units") or {}).values():
        for key in UNPRINTED_UNIT_KEYS:
            unit.pop(key, None)
    content["authority_printed"] = authority_printed(authority)
    return content


def _without(value: Any, keys: tuple[str, ...]) -> Any:
    if isinstance(value, dict):
        return {k: _without(v, keys) for k, v in value.items() if k not in keys}
    if isinstance(value, list):
        return [_without(v, keys) for v in value]
    return value


def content_hash(decisions: Mapping[str, Any], authority: Authority) -> str:
    canonical = json.dumps(
        printed_content(decisions, authority), sort_keys=True, ensure_ascii=False, separators=(",", ":")
    )
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


# ------------------------------------------------------------------------------ revisions


def _figure_texts(unit: Mapping[str, Any]) -> dict[str, str]:
    out: dict[str, str] = {}
    figures = unit.get("figures") or {}
    for metric in RATE_METRICS:
        for window, figure in (figures.get(metric) or {}).items():
            text = figure.get("text") or "—"
            out[f"{METRIC_LABELS[metric]} ({WINDOW_LABELS.get(window, window)})"] = (
                f"{text} ({figure.get('numerator')}/{figure.get('denominator')})"
            )
    posts = figures.get("posts") or {}
    if "month" in posts:
        out[METRIC_LABELS["posts"]] = str(posts["month"])
    return out


def _decision_texts(unit: Mapping[str, Any]) -> list[str]:
    texts = []
    for d in unit.get("decisions") or []:
        text = f"mục {d.get('section')}: {KIND_LABELS.get(d.get('kind'), d.get('kind'))}"
        if d.get("count") and d["count"] > 1:
            text += f" lần thứ {d['count']}"
        texts.append(text)
    return texts


def revision(
    old: Mapping[str, Any],
    new: Mapping[str, Any],
    old_authority: Mapping[str, Any] | None = None,
    new_authority: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """What changed from the issued letter's decisions (``old``) to the recomputed ones (``new``).

    ``{"units": [{"code", "name", "figures": {label: [old, new]}, "decisions": [old list, new list]}],
    "totals": {label: [old, new]}, "other": {key: [old, new]}}``; only what differs is listed.
    """
    units: list[dict[str, Any]] = []
    old_units, new_units = old.get("units") or {}, new.get("units") or {}
    for code in list(old_units) + [c for c in new_units if c not in old_units]:
        before, after = old_units.get(code) or {}, new_units.get(code) or {}
        change: dict[str, Any] = {"code": code, "name": after.get("name") or before.get("name") or code}
        if before.get("name") != after.get("name"):
            change["renamed"] = [before.get("name"), after.get("name")]
        old_figures, new_figures = _figure_texts(before), _figure_texts(after)
        figures = {
            label: [old_figures.get(label), new_figures.get(label)]
            for label in {**old_figures, **new_figures}
            if old_figures.get(label) != new_figures.get(label)
        }
        if figures:
            change["figures"] = figures
        old_decisions, new_decisions = _decision_texts(before), _decision_texts(after)
        if old_decisions != new_decisions:
            change["decisions"] = [old_decisions, new_decisions]
        if len(change) > 2:
            units.append(change)
    totals = {}
    for metric in RATE_METRICS:
        before = ((old.get("totals") or {}).get(metric) or {}).get("text")
        after = ((new.get("totals") or {}).get(metric) or {}).get("text")
        if before != after:
            totals[METRIC_LABELS[metric]] = [before, after]
    other = {
        key: [old.get(key), new.get(key)]
        for key in ("operator_note", "targets", "windows")
        if old.get(key) != new.get(key)
    }
    # Whatever else the letter prints that differs (its sections' headings, the shortfall lists, …):
    # the report never says "changed" without saying where.
    listed = {"units", "totals", "operator_note", "targets", "windows", *UNPRINTED_KEYS}
    old_printed, new_printed = (
        _without(dict(old), UNPRINTED_ANYWHERE),
        _without(dict(new), UNPRINTED_ANYWHERE),
    )
    for key in sorted((set(old_printed) | set(new_printed)) - listed):
        if old_printed.get(key) != new_printed.get(key):
            other[key] = [_brief(key, old_printed.get(key)), _brief(key, new_printed.get(key))]
    if old_authority is not None and new_authority is not None and old_authority != new_authority:
        other["authority.yaml"] = [
            {k: v for k, v in old_authority.items() if new_authority.get(k) != v},
            {k: v for k, v in new_authority.items() if old_authority.get(k) != v},
        ]
    return {"units": units, "totals": totals, "other": other}


def _brief(key: str, value: Any) -> Any:
    """A changed value as the report shows it: a section by its heading, a long value abridged."""
    if key == "sections" and isinstance(value, list):
        return [
            " ".join(
                str(part)
                for part in (
                    f"mục {section.get('number')}:",
                    KIND_LABELS.get(section.get("kind"), section.get("kind")),
                    section.get("ordinal") or "",
                    section.get("subjects") or "",
                )
                if part
            )
            for section in value
        ]
    text = json.dumps(value, ensure_ascii=False, sort_keys=True)
    return value if len(text) <= 300 else text[:300] + "…"


def revision_lines(changes: Mapping[str, Any]) -> list[str]:
    """The changes in Vietnamese, one line each, for the task log and the operators' email."""
    lines = []
    for unit in changes.get("units") or []:
        where = f"{unit['name']} ({unit['code']})"
        if "renamed" in unit:
            lines.append(f"{where}: tên {unit['renamed'][0]} → {unit['renamed'][1]}")
        for label, (before, after) in (unit.get("figures") or {}).items():
            lines.append(f"{where}, {label}: {before or '—'} → {after or '—'}")
        if "decisions" in unit:
            before, after = unit["decisions"]
            lines.append(
                f"{where}, quyết định: {'; '.join(before) or 'không có'} → {'; '.join(after) or 'không có'}"
            )
    for label, (before, after) in (changes.get("totals") or {}).items():
        lines.append(f"Toàn cơ quan, {label}: {before or '—'} → {after or '—'}")
    for key, (before, after) in (changes.get("other") or {}).items():
        lines.append(
            f"{key}: {json.dumps(before, ensure_ascii=False)} → {json.dumps(after, ensure_ascii=False)}"
        )
    return lines
