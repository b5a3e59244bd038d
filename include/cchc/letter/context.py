"""What the Word template can print: decisions.json and authority.yaml, shaped for the letter's prose.

The template (``templates/letter.docx``) holds the sentences; this module only looks things up and
formats them, so the clerk who edits the wording never needs to change code. Variables:

- ``authority``: ``name`` ("huyện Tứ Kỳ"), ``issuing_body`` (lines), ``place``, ``document_symbol``,
  ``recipients``, ``copies``, ``signer.on_behalf`` / ``signer.title`` / ``signer.name``.
- ``number``: the document number, blank in a draft ("Số:       /UBND-NV"); ``date_line``
  ("Tứ Kỳ, ngày      tháng 9 năm 2023", the month after the period).
- ``period_label`` ("8/2023"), ``previous_period_label``, ``year``, ``ytd_label`` ("8 tháng đầu năm
  2023"), ``payment_window`` ("từ ngày 01/4/2023-31/8/2023"), ``rest_of_year`` ("các tháng cuối năm
  2023"), ``remaining_of_year`` ("những tháng còn lại của năm 2023").
- ``level_word`` ("huyện", "tỉnh", "thành phố"), ``target_giver`` ("UBND tỉnh"), ``vertical_target``
  ("chỉ tiêu đề ra": the target of a vertical agency, which the committee does not assign),
  ``local_units`` ("xã, thị trấn"; "xã, phường, đặc khu"), ``actions`` ("biểu dương, nhắc nhở"),
  ``summary`` (the trích yếu "V/v …", the same as the document's title and the emails'),
  ``has_vertical`` (the registry holds vertical agencies).
- ``totals.receipt|result|payment``: ``text``, ``change_text``; ``totals.compared`` (any change shown).
- ``operator_note``; ``shortfalls.payment`` / ``shortfalls.posts`` (true when some unit falls short),
  ``shortfalls.payment_who`` ("địa phương"), ``shortfalls.vertical`` (a vertical agency among them).
- ``targets``: the decisions' targets (strings such as "30"; print with ``|percent``).
- ``sections``: as in decisions.json, with unit codes replaced by units (``name``, ``vertical``,
  ``month.receipt``, ``month.result``, ``month.payment``) and each reason entry as ``e.name``,
  ``e.vertical``, ``e.month``, ``e.ytd``, ``e.campaign`` (``text``, ``threshold_text``, ``above``) and
  ``e.posts``; commune groups carry ``count`` ("03") and ``kinds`` ("xã"); requests carry ``verb``
  ("Yêu cầu", or "Đề nghị" for vertical agencies), ``heads``, ``subjects``, ``to_heads`` / ``to_subjects``
  ("Yêu cầu Trưởng phòng …", "Đề nghị Giám đốc Bảo hiểm xã hội …; yêu cầu Chủ tịch UBND xã …"),
  ``mixed`` (vertical agencies and others together) and ``vertical`` (a vertical agency among them);
  remind sub-sections carry ``phrase``; the directives ``addressees`` (assigned, "giao") and
  ``requested`` (the vertical agencies, asked, "đề nghị"; false when none).
- ``annex``: the annex table and chart (false when the letter has no annex).

Filters: ``percent`` ("30" → "30%"), ``count`` (3 → "03"), ``join`` (["A", "B"] → "A và B").

A value that decisions.json leaves null is a ``Missing``: false in an ``{% if %}``, and an error
naming the field if the template prints it (never "None" in a letter).
"""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal, InvalidOperation
from typing import Any

from cchc.core import wording
from cchc.core.authorities import Authority
from cchc.core.percent import format_percent
from cchc.core.periods import TIMEZONE, Period
from cchc.letter.errors import DecisionsError, LetterTemplateError

# Local committees, in the order the law lists them ("xã, phường, thị trấn", "xã, phường, đặc khu").
LOCAL_KINDS = wording.LOCAL_WORDS
AGENCY_KINDS = ("department", "vertical_agency")
VERTICAL = "vertical_agency"
METRIC_PHRASES = {
    "result": "số hóa kết quả giải quyết thủ tục hành chính",
    "receipt": "số hóa đầy đủ thành phần hồ sơ khi tiếp nhận",
    "payment": "thanh toán trực tuyến",
}
BLANK_NUMBER = "       "  # the draft's "Số:        /UBND-NV": the number is written in when issued


class Missing:
    """A null value of decisions.json: false in conditions, an error when printed."""

    __slots__ = ("path",)

    def __init__(self, path: str) -> None:
        self.path = path

    def __bool__(self) -> bool:
        return False

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Missing) and other.path == self.path

    def __hash__(self) -> int:
        return hash(self.path)

    def _fail(self) -> str:
        raise LetterTemplateError(
            f"trường '{self.path}' không có giá trị (null trong decisions.json) nhưng mẫu "
            "lại in ra; hãy đặt nó trong {% if … %}"
        )

    __str__ = _fail
    __html__ = _fail

    def __repr__(self) -> str:
        return f"Missing({self.path!r})"


def value(data: Any, path: str) -> Any:
    return Missing(path) if data is None else data


def decimal(text: Any, where: str) -> Decimal:
    try:
        return Decimal(str(text))
    except (InvalidOperation, ValueError) as exc:
        raise DecisionsError(f"{where}: '{text}' không phải số thập phân") from exc


def percent(text: Any) -> str:
    """Jinja filter: "30" → "30%", "97.67" → "97,67%"."""
    if isinstance(text, Missing):
        return text._fail()
    return format_percent(decimal(text, "tỷ lệ"))


def level_word(authority: Authority) -> str:
    """'huyện', 'tỉnh', 'thành phố': the level as the authority's name says it."""
    return wording.level_word(authority.name, authority.level)


def local_units_words(kinds: set[str]) -> str:
    """'xã, thị trấn' for the kinds of local committee the authority has."""
    return wording.local_units_words(kinds)


def letter_summary(decisions: Mapping[str, Any], authority: Authority) -> str:
    """The trích yếu ("V/v …") of the letter of these decisions: printed, the title, the emails' subject."""
    return wording.summary_line(decisions, authority.letter_wording)


def document_number_text(document_number: int | str | None) -> str:
    """Decree 30: numbers under 10 take a leading zero ("05"); a draft leaves the number blank."""
    if document_number is None or document_number == "":
        return BLANK_NUMBER
    if isinstance(document_number, int):
        if document_number <= 0:
            raise LetterTemplateError(f"số văn bản phải là số dương, nhận được {document_number}")
        return wording.count(document_number)
    return str(document_number)


def replaces_sentence(authority: Authority, replaces: Mapping[str, Any] | None) -> str:
    """A re-issue says which letter it replaces (BRIEF §4); empty for a first issue."""
    if not replaces:
        return ""
    number = wording.document_number_text(int(replaces["document_number"]), authority.document_symbol)
    issued = replaces.get("issued_at")
    if (
        issued is not None and issued.tzinfo is not None
    ):  # PostgreSQL answers in UTC; SQLite keeps the wall time
        issued = issued.astimezone(TIMEZONE)
    day = f" ngày {wording.day_month(issued.day, issued.month)}/{issued.year}" if issued else ""
    return f"Công văn này thay thế Công văn số {number}{day} của UBND {authority.name}."


def _rest_of_year(period: Period) -> tuple[str, str]:
    if period.month == 12:
        following = f"năm {period.year + 1}"
        return following, following
    rest = (
        f"các tháng cuối năm {period.year}"
        if period.month >= 6
        else f"các tháng tiếp theo của năm {period.year}"
    )
    return rest, f"những tháng còn lại của năm {period.year}"


class _Builder:
    def __init__(self, decisions: dict[str, Any], authority: Authority) -> None:
        self.d = decisions
        self.authority = authority
        self.units: dict[str, Any] = decisions["units"]
        self.targets = decisions["targets"]

    # Units -------------------------------------------------------------------------------------

    def unit(self, code: str) -> dict[str, Any]:
        unit = self.units[code]
        figures = unit.get("figures") or {}
        month = {}
        for metric in ("receipt", "result", "payment"):
            window = (figures.get(metric) or {}).get("month") or {}
            month[metric] = value(window.get("text"), f"units.{code}.figures.{metric}.month.text")
        return {
            "code": code,
            "name": unit["name"],
            "kind": unit["kind"],
            "vertical": unit["kind"] == VERTICAL,
            "month": month,
            "head": wording.head_of(unit) if unit.get("head_title") else unit["name"],
        }

    def reason(self, reason: Mapping[str, Any], where: str) -> dict[str, Any]:
        shown = reason.get("shown")
        threshold = reason.get("threshold")
        above = (
            shown is not None
            and threshold is not None
            and decimal(shown, f"{where}.shown") > decimal(threshold, f"{where}.threshold")
        )
        return {
            "text": value(reason.get("text"), f"{where}.text"),
            "shown": value(shown, f"{where}.shown"),
            "threshold_text": percent(threshold) if threshold is not None else Missing(f"{where}.threshold"),
            "above": above,
        }

    def entry(self, entry: Mapping[str, Any], metric: str, where: str) -> dict[str, Any]:
        code = entry["unit"]
        view: dict[str, Any] = {
            "unit": code,
            "name": self.units[code]["name"],
            "vertical": self.units[code]["kind"] == VERTICAL,
            "posts": False,
        }
        for i, reason in enumerate(entry["reasons"]):
            at = f"{where}.reasons[{i}]"
            if reason.get("metric") == "posts":
                view["posts"] = {"value": reason.get("value"), "required": reason.get("threshold")}
            elif reason.get("metric") == metric:
                view[reason.get("window")] = self.reason(reason, at)
        return view

    def _split(self, request: Mapping[str, Any]) -> tuple[Mapping[str, Any] | None, Mapping[str, Any] | None]:
        """(asked, required): the vertical agencies of a request group and the others.

        decisions.json carries them (``asked`` / ``required``) where the group holds a vertical agency;
        a document written before it did is split here, by kind, with the same wording.
        """
        if "asked" in request:
            return request["asked"], request.get("required")
        codes = [c for c in request.get("units", []) if c in self.units]
        vertical = [c for c in codes if self.units[c]["kind"] == VERTICAL]
        if not vertical:
            return None, request
        if len(vertical) == len(codes):
            return request, None
        others = [c for c in codes if c not in vertical]

        def named(group: list[str]) -> dict[str, Any]:
            units = [self.units[c] for c in group]
            return {"units": group, "heads": wording.heads(units), "subjects": wording.subjects(units)}

        return named(vertical), named(others)

    def request(self, request: Mapping[str, Any]) -> dict[str, Any]:
        """A vertical agency is asked ("Đề nghị"), never required: a group holding one and others
        reads "Đề nghị <agency>; yêu cầu <others> …"."""
        asked, required = self._split(request)
        if asked and required:
            to_heads = f"Đề nghị {asked['heads']}; yêu cầu {required['heads']}"
            to_subjects = f"Đề nghị {asked['subjects']}; yêu cầu {required['subjects']}"
        else:
            verb = "Đề nghị" if asked else "Yêu cầu"
            to_heads = f"{verb} {request['heads']}"
            to_subjects = f"{verb} {request['subjects']}"
        return {
            "verb": "Đề nghị" if asked else "Yêu cầu",
            "heads": request["heads"],
            "subjects": request["subjects"],
            "to_heads": to_heads,
            "to_subjects": to_subjects,
            "mixed": bool(asked and required),
            "vertical": bool(asked),
            "units": list(request.get("units", [])),
        }

    # Sections ----------------------------------------------------------------------------------

    def commend(self, section: Mapping[str, Any]) -> dict[str, Any]:
        groups = []
        for group in section["groups"]:
            members = [self.unit(code) for code in group["units"]]
            kinds = {m["kind"] for m in members}
            groups.append(
                {
                    "group": group["group"],
                    "units": members,
                    "count": wording.count(len(members)),
                    "kinds": local_units_words(kinds),
                }
            )
        return {"number": str(section["number"]), "kind": "commend", "groups": groups}

    def remind(self, section: Mapping[str, Any], where: str) -> dict[str, Any]:
        subsections = []
        for s, sub in enumerate(section["subsections"]):
            metric = sub["metric"]
            groups = []
            for g, group in enumerate(sub["groups"]):
                at = f"{where}.subsections[{s}].groups[{g}]"
                groups.append(
                    {
                        "reason": group["reason"],
                        "entries": [
                            self.entry(e, metric, f"{at}.entries[{i}]")
                            for i, e in enumerate(group["entries"])
                        ],
                        "request": self.request(group["request"]),
                    }
                )
            subsections.append(
                {
                    "number": str(sub["number"]),
                    "metric": metric,
                    "phrase": METRIC_PHRASES[metric],
                    "groups": groups,
                }
            )
        return {"number": str(section["number"]), "kind": "remind", "subsections": subsections}

    def listed(self, section: Mapping[str, Any], where: str) -> dict[str, Any]:
        """Criticisms and requests to vertical agencies: one reason line per unit."""
        view = {
            "number": str(section["number"]),
            "kind": section["kind"],
            "subjects": section["subjects"],
            "entries": [
                self.entry(e, "payment", f"{where}.entries[{i}]") for i, e in enumerate(section["entries"])
            ],
        }
        if section["kind"] == "criticise":
            view["count"] = section["count"]
            view["ordinal"] = section.get("ordinal") or wording.ordinal(int(section["count"])) or ""
        else:
            view["heads"] = section["heads"]
        return view

    def sections(self) -> list[dict[str, Any]]:
        out = []
        for i, section in enumerate(self.d["sections"]):
            where = f"sections[{i}]"
            kind = section["kind"]
            if kind == "commend":
                out.append(self.commend(section))
            elif kind == "remind":
                out.append(self.remind(section, where))
            elif kind in ("criticise", "request"):
                out.append(self.listed(section, where))
            else:
                out.append(
                    {
                        "number": str(section["number"]),
                        "kind": "directives",
                        "addressees": section["addressees"],
                        "requested": section.get("requested") or False,
                    }
                )
        return out

    # Opening -----------------------------------------------------------------------------------

    def totals(self) -> dict[str, Any]:
        totals: dict[str, Any] = {}
        compared = False
        for metric in ("receipt", "result", "payment"):
            t = self.d["totals"].get(metric) or {}
            change_text = t.get("change_text")
            compared = compared or bool(change_text)
            totals[metric] = {
                "text": value(t.get("text"), f"totals.{metric}.text"),
                "change_text": value(change_text, f"totals.{metric}.change_text"),
            }
        totals["posts"] = self.d["totals"].get("posts") or {}
        totals["compared"] = compared
        return totals

    def shortfalls(self) -> dict[str, Any]:
        shortfalls = self.d.get("shortfalls") or {}
        payment = list(shortfalls.get("payment") or [])
        posts = list(shortfalls.get("posts") or [])
        kinds = {self.units[c]["kind"] for c in payment if c in self.units}
        if kinds and kinds <= set(LOCAL_KINDS):
            who = "địa phương"
        elif kinds and not kinds & set(LOCAL_KINDS):
            who = "cơ quan, đơn vị"
        else:
            who = "cơ quan, đơn vị, địa phương"
        return {
            "payment": bool(payment),
            "posts": bool(posts),
            "payment_units": payment,
            "posts_units": posts,
            "payment_who": who,
            "vertical": VERTICAL in kinds,
        }

    def actions(self) -> str:
        return wording.actions(s["kind"] for s in self.d["sections"])


def build_context(
    decisions: dict[str, Any],
    authority: Authority,
    *,
    document_number: int | str | None = None,
    annex: Any = False,
    replaces: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """The template's variables (see the module's docstring)."""
    builder = _Builder(decisions, authority)
    period = Period.parse(decisions["period"])
    dated = period.next()
    word = level_word(authority)
    settings = authority.letter_wording
    rest, remaining = _rest_of_year(period)
    kinds = {u["kind"] for u in decisions["units"].values()}
    windows = decisions["windows"]
    payment_window = ((windows.get("campaign") or {}).get("payment") or {}).get("label")
    if not payment_window:
        raise DecisionsError("decisions.json: thiếu 'windows.campaign.payment.label'")
    signer = authority.signer
    return {
        "authority": {
            "id": authority.id,
            "name": authority.name,
            "level": authority.level,
            "issuing_body": list(authority.issuing_body),
            "place": authority.place,
            "document_symbol": authority.document_symbol,
            "recipients": list(authority.recipients),
            "copies": list(authority.copies),
            "signer": {"on_behalf": signer.on_behalf or "", "title": signer.title, "name": signer.name},
        },
        "number": document_number_text(document_number),
        "replaces": replaces_sentence(authority, replaces),
        "date_line": wording.date_line(authority.place, dated.month, dated.year),
        "period": str(period),
        "period_label": decisions["period_label"],
        "previous_period_label": decisions["previous_period_label"],
        "year": decisions["year"],
        "ytd_label": windows["ytd"]["label"],
        "payment_window": payment_window,
        "rest_of_year": rest,
        "remaining_of_year": remaining,
        "level_word": word,
        "target_giver": str(settings.target_giver),
        "vertical_target": settings.vertical_target,
        "local_units": settings.local_units or local_units_words(kinds),
        "actions": builder.actions(),
        "summary": letter_summary(decisions, authority),
        "has_vertical": VERTICAL in kinds,
        "totals": builder.totals(),
        "operator_note": value(decisions.get("operator_note") or None, "operator_note"),
        "shortfalls": builder.shortfalls(),
        "targets": dict(decisions["targets"]),
        "sections": builder.sections(),
        "annex": annex,
    }
