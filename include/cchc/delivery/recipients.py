"""Who gets the letter by email: the heads of the units, the bodies that get a copy, the operators.

The unit registry gives each unit's head address (units.csv, else ``email`` in decisions.json); the
``distribution:`` block of ``authority.yaml`` adds the copies and the operators and says which mail
domains may receive anything at all::

    distribution:
      sender_name: UBND huyện Tứ Kỳ            # display name of From (default "UBND " + name)
      reply_to: vanphong@tuky.haiduong.gov.vn  # optional Reply-To
      copies:                                  # "Nơi nhận" bodies that get a copy by email
        - {name: Ban Thường vụ Huyện uỷ, email: btv@tuky.haiduong.gov.vn}
      operators:                               # CCHC office: PDF + DOCX, summary, failure alerts
        - {name: Bộ phận CCHC, email: cchc@tuky.haiduong.gov.vn}   # or just the address
      allowed_domains: [tuky.haiduong.gov.vn]  # a domain also allows its sub-domains
      require_approval: false                  # "Duyệt phát hành" before issuing
      approvers:                               # who approves (Airflow user), told by email with the draft
        - {name: Chánh Văn phòng, email: chanhvp@tuky.haiduong.gov.vn, user: chanhvp}
      approval_timeout_hours: 48               # no decision in time counts as a rejection (default 72)
      send_by_day: 5                           # the month's letter is sent by this day of the next
                                               # month (1–28, default 5), else the operators are alerted
      test_address: thunghiem@tuky.haiduong.gov.vn  # where a dry run sends everything
      subject: "V/v … tháng {period_label}"    # optional: the letter's trích yếu by default; {summary} is it,
                                               # {period_label} is "8/2023"
      attachment_name: "Công văn CCHC tháng {month}-{year}"  # without the extension
      max_attempts: 5                          # per message, temporary SMTP failures included
      backoff_seconds: 2                       # first wait; doubled after each failure

Every address is one recipient and gets one message: a head who runs two units, or an operator who
is also on the copy list, gets a single message that covers every role.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from email.errors import HeaderParseError
from email.headerregistry import Address
from typing import Any

from cchc.core.authorities import Authority
from cchc.core.errors import ConfigError
from cchc.core.wording import head_of
from cchc.delivery.errors import DeliveryError, RecipientRefused

# The subject is the letter's own trích yếu unless the authority sets one (cchc.core.wording.summary_line).
DEFAULT_SUBJECT = "{summary}"
DEFAULT_ATTACHMENT_NAME = "Công văn CCHC tháng {month}-{year}"
ROLES = ("unit", "copy", "operator")
# The office sends the month's letter by the 5th of the next month unless the authority says otherwise;
# at most the 28th, a day every month has.
DEFAULT_SEND_BY_DAY = 5
LAST_SEND_BY_DAY = 28
_KEYS = {
    "sender_name",
    "reply_to",
    "copies",
    "operators",
    "allowed_domains",
    "require_approval",
    "approvers",
    "approval_timeout_hours",
    "send_by_day",
    "test_address",
    "subject",
    "attachment_name",
    "max_attempts",
    "backoff_seconds",
}


@dataclass(frozen=True)
class Contact:
    name: str
    email: str
    user: str | None = None  # an approver's Airflow user name (the approval task is assigned to it)


@dataclass(frozen=True)
class DistributionConfig:
    allowed_domains: tuple[str, ...] = ()
    copies: tuple[Contact, ...] = ()
    operators: tuple[Contact, ...] = ()
    sender_name: str | None = None
    reply_to: str | None = None
    require_approval: bool = False
    approvers: tuple[Contact, ...] = ()
    approval_timeout_hours: float | None = None
    # The day of the month after the period by which its letter must be sent (cchc.delivery.deadlines).
    send_by_day: int = DEFAULT_SEND_BY_DAY
    test_address: str | None = None
    subject: str = DEFAULT_SUBJECT
    attachment_name: str = DEFAULT_ATTACHMENT_NAME
    max_attempts: int = 5
    backoff_seconds: float = 2.0

    def allows(self, address: str) -> bool:
        domain = address.rpartition("@")[2].casefold().rstrip(".")
        return any(domain == d or domain.endswith("." + d) for d in self.allowed_domains)


@dataclass(frozen=True)
class Recipient:
    """One mailbox and everything it receives the letter as."""

    address: str
    name: str
    units: tuple[str, ...] = ()
    roles: tuple[str, ...] = ()

    @property
    def key(self) -> str:
        """The ledger's recipient key: the address, case-folded (mailboxes are not case-sensitive in practice)."""
        return self.address.casefold()

    @property
    def is_operator(self) -> bool:
        return "operator" in self.roles

    def describe(self) -> str:
        who = ", ".join(self.units) if self.units else "/".join(self.roles)
        return f"{self.name} <{self.address}> ({who})"


@dataclass(frozen=True)
class RecipientPlan:
    recipients: list[Recipient]
    # Units in the letter that have no address in the registry: reported, never guessed.
    missing_email: list[str] = field(default_factory=list)

    def by_key(self) -> dict[str, Recipient]:
        return {r.key: r for r in self.recipients}


def validate_address(address: str, where: str) -> str:
    """A plain ASCII ``local@domain``; anything that could smuggle a header or a second address is refused."""
    text = str(address or "").strip()
    try:
        parsed = Address(addr_spec=text)
    except (ValueError, IndexError, TypeError, HeaderParseError) as exc:
        raise ConfigError(f"{where}: địa chỉ email '{text}' không hợp lệ") from exc
    if (
        not parsed.username
        or "." not in parsed.domain
        or not text.isascii()
        or any(c in text for c in " ,;<>\r\n")
    ):
        raise ConfigError(f"{where}: địa chỉ email '{text}' không hợp lệ")
    return text


def _contacts(value: Any, key: str, where: str, default_name: str) -> tuple[Contact, ...]:
    if value in (None, ""):
        return ()
    if not isinstance(value, list):
        value = [value]
    out = []
    for i, item in enumerate(value, 1):
        spot = f"{where}, distribution.{key}[{i}]"
        if isinstance(item, str):
            out.append(Contact(default_name, validate_address(item, spot)))
        elif isinstance(item, Mapping) and item.get("email"):
            allowed = {"name", "email", "user"} if key == "approvers" else {"name", "email"}
            unknown = set(item) - allowed
            if unknown:
                raise ConfigError(f"{spot}: khóa không biết: {', '.join(sorted(unknown))}")
            user = str(item["user"]).strip() if item.get("user") else None
            out.append(
                Contact(str(item.get("name") or default_name), validate_address(item["email"], spot), user)
            )
        else:
            raise ConfigError(f"{spot}: cần một địa chỉ email hoặc {{name: …, email: …}}")
    return tuple(out)


def _bool(value: Any, key: str, where: str) -> bool:
    if isinstance(value, bool):
        return value
    if str(value).strip().lower() in ("true", "1", "yes", "có"):
        return True
    if str(value).strip().lower() in ("false", "0", "no", "không", "", "none"):
        return False
    raise ConfigError(f"{where}: distribution.{key} phải là true/false (đang là '{value}')")


def _number(value: Any, key: str, where: str, kind: type, minimum: float) -> Any:
    try:
        number = kind(value)
    except (TypeError, ValueError) as exc:
        raise ConfigError(f"{where}: distribution.{key} phải là số (đang là '{value}')") from exc
    if number < minimum:
        raise ConfigError(f"{where}: distribution.{key} phải từ {minimum} trở lên (đang là {number})")
    return number


def _send_by_day(value: Any, where: str) -> int:
    if isinstance(value, bool) or (isinstance(value, float) and not value.is_integer()):
        raise ConfigError(f"{where}: distribution.send_by_day phải là số ngày nguyên (đang là '{value}')")
    day = _number(value, "send_by_day", where, int, 1)
    if day > LAST_SEND_BY_DAY:
        raise ConfigError(
            f"{where}: distribution.send_by_day phải từ 1 đến {LAST_SEND_BY_DAY} (ngày mà tháng nào cũng có; "
            f"đang là {day})"
        )
    return int(day)


def distribution_config(authority: Authority) -> DistributionConfig:
    """The ``distribution:`` block of the authority (``Authority.extra``), checked key by key."""
    folder = getattr(authority, "folder", None)
    where = f"{folder / 'authority.yaml'}" if folder else f"cơ quan {authority.id}"
    data = (getattr(authority, "extra", None) or {}).get("distribution") or {}
    if not isinstance(data, Mapping):
        raise ConfigError(f"{where}: trường 'distribution' phải là bảng khóa–giá trị")
    unknown = set(data) - _KEYS
    if unknown:
        raise ConfigError(f"{where}: khóa không biết trong 'distribution': {', '.join(sorted(unknown))}")
    domains = data.get("allowed_domains") or []
    if isinstance(domains, str):
        domains = [domains]
    if not isinstance(domains, list) or not all(isinstance(d, str) and d.strip() for d in domains):
        raise ConfigError(f"{where}: distribution.allowed_domains phải là danh sách tên miền")
    test_address = data.get("test_address")
    timeout = data.get("approval_timeout_hours")
    return DistributionConfig(
        allowed_domains=tuple(d.strip().casefold().lstrip("@").rstrip(".") for d in domains),
        copies=_contacts(data.get("copies"), "copies", where, "Nơi nhận"),
        operators=_contacts(data.get("operators"), "operators", where, "Bộ phận cải cách hành chính"),
        approvers=_contacts(data.get("approvers"), "approvers", where, "Người duyệt"),
        sender_name=str(data["sender_name"]) if data.get("sender_name") else None,
        reply_to=validate_address(data["reply_to"], f"{where}, distribution.reply_to")
        if data.get("reply_to")
        else None,
        require_approval=_bool(data.get("require_approval", False), "require_approval", where),
        approval_timeout_hours=_number(timeout, "approval_timeout_hours", where, float, 0)
        if timeout
        else None,
        send_by_day=_send_by_day(data.get("send_by_day", DEFAULT_SEND_BY_DAY), where),
        test_address=validate_address(test_address, f"{where}, distribution.test_address")
        if test_address
        else None,
        subject=str(data.get("subject") or DEFAULT_SUBJECT),  # "{summary}": the letter's trích yếu
        attachment_name=str(data.get("attachment_name") or DEFAULT_ATTACHMENT_NAME),
        max_attempts=_number(data.get("max_attempts", 5), "max_attempts", where, int, 1),
        backoff_seconds=_number(data.get("backoff_seconds", 2), "backoff_seconds", where, float, 0),
    )


def sender_name(authority: Authority, config: DistributionConfig) -> str:
    """'UBND huyện Tứ Kỳ' unless the configuration names the sender otherwise."""
    return config.sender_name or f"UBND {authority.name}"


def _unit_rows(authority: Authority | None, decisions: Mapping[str, Any] | None) -> list[dict[str, Any]]:
    """The units of the letter in registry order: decisions.json when given, else the registry file."""
    registry = {u.code: u for u in (authority.units if authority is not None else [])}
    if decisions is not None:
        rows = []
        for code, unit in (decisions.get("units") or {}).items():
            row = dict(unit)
            row.setdefault("code", code)
            if code in registry and registry[code].email:
                # An address is a current fact, not history: an address fixed in units.csv after the
                # decisions were taken (say, after a 550) is the one the next run uses.
                row["email"] = registry[code].email
            for key in ("name", "kind", "head_title"):
                if not row.get(key) and code in registry:
                    row[key] = getattr(registry[code], key)
            rows.append(row)
        return rows
    return [
        {"code": u.code, "name": u.name, "kind": u.kind, "head_title": u.head_title, "email": u.email}
        for u in registry.values()
    ]


def plan_recipients(
    authority: Authority | None, decisions: Mapping[str, Any] | None, config: DistributionConfig
) -> RecipientPlan:
    """Every mailbox that gets the letter, merged by address, in the order units → copies → operators."""
    merged: dict[str, Recipient] = {}
    missing: list[str] = []

    def add(address: str, name: str, role: str, unit: str | None = None) -> None:
        key = address.casefold()
        current = merged.get(key)
        if current is None:
            merged[key] = Recipient(address, name, (unit,) if unit else (), (role,))
            return
        units = current.units + ((unit,) if unit and unit not in current.units else ())
        roles = current.roles + ((role,) if role not in current.roles else ())
        # A unit head's title is the better greeting than a list name; otherwise keep the first name.
        merged[key] = replace(current, units=units, roles=roles)

    for row in _unit_rows(authority, decisions):
        code = str(row["code"])
        if not row.get("email"):
            missing.append(code)
            continue
        address = validate_address(row["email"], f"đơn vị {code} ({row.get('name', '')})")
        add(address, head_of(row), "unit", code)
    for contact in config.copies:
        add(contact.email, contact.name, "copy")
    for contact in config.operators:
        add(contact.email, contact.name, "operator")
    order = {role: i for i, role in enumerate(ROLES)}
    recipients = sorted(merged.values(), key=lambda r: order[r.roles[0]])  # stable: registry order kept
    return RecipientPlan(recipients, missing)


def check_allowed(
    recipients: Iterable[Recipient],
    config: DistributionConfig,
    *,
    unit_names: Mapping[str, str] | None = None,
    extra: Iterable[tuple[str, str]] = (),
) -> None:
    """Refuse, before anything is sent, every address outside the allowed domains.

    ``extra`` are other ``(who, address)`` pairs that would receive mail (the dry run's test address).
    """
    if not config.allowed_domains:
        raise DeliveryError(
            "chưa khai báo distribution.allowed_domains trong authority.yaml: không gửi thư khi chưa biết "
            "tên miền nào được phép nhận"
        )
    names = dict(unit_names or {})
    refused: list[tuple[str, str]] = []
    for recipient in recipients:
        if not config.allows(recipient.address):
            if recipient.units:
                who = "; ".join(f"{names.get(code, recipient.name)} ({code})" for code in recipient.units)
            else:
                who = f"{recipient.name} ({', '.join(recipient.roles)})"
            refused.append((who, recipient.address))
    refused.extend((who, address) for who, address in extra if not config.allows(address))
    if refused:
        listed = "; ".join(f"{address} của {who}" for who, address in refused)
        raise RecipientRefused(
            f"từ chối gửi: {len(refused)} địa chỉ ngoài các tên miền được phép "
            f"({', '.join(config.allowed_domains)}): {listed}. Chưa gửi thư nào.",
            refused,
        )


def select(recipients: Sequence[Recipient], selectors: Iterable[str]) -> list[Recipient]:
    """The recipients a resend names, by unit code (X-HK) or address; an unknown name is an error."""
    chosen: list[Recipient] = []
    unknown: list[str] = []
    for selector in (s.strip() for s in selectors):
        if not selector:
            continue
        hits = [r for r in recipients if selector in r.units or r.key == selector.casefold()]
        if not hits:
            unknown.append(selector)
        chosen.extend(h for h in hits if h not in chosen)
    if unknown:
        raise DeliveryError(
            f"gửi lại: không có người nhận nào ứng với {', '.join(unknown)} (dùng mã đơn vị như X-HK hoặc địa chỉ email)"
        )
    if not chosen:
        raise DeliveryError("gửi lại: chưa chọn người nhận nào")
    return [r for r in recipients if r in chosen]
