"""Recipients: the distribution block of authority.yaml, merging by address, allowed domains, selection."""

from __future__ import annotations

import pytest
import yaml
from support.delivery import UNITS, delivery_authority, make_decisions
from support.paths import SEED_AUTHORITY

from cchc.core.authorities import Unit, load_authority
from cchc.core.errors import ConfigError
from cchc.delivery.errors import DeliveryError, RecipientRefused
from cchc.delivery.recipients import check_allowed, distribution_config, plan_recipients, select


def test_config_is_read_and_checked():
    config = distribution_config(delivery_authority())
    assert config.allowed_domains == ("thu.gov.vn",)
    assert [c.email for c in config.copies] == ["btv@thu.gov.vn"]
    assert config.operators[0].name == "Bộ phận CCHC"
    assert config.test_address == "thunghiem@thu.gov.vn"
    assert config.max_attempts == 4 and config.backoff_seconds == 1.0
    assert config.require_approval is False


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"colour": "red"}, "khóa không biết trong 'distribution': colour"),
        ({"operators": ["not an address"]}, r"distribution.operators\[1\]: địa chỉ email 'not an address'"),
        ({"copies": [{"name": "X"}]}, r"distribution.copies\[1\]"),
        ({"require_approval": "maybe"}, "require_approval phải là true/false"),
        ({"max_attempts": 0}, "max_attempts phải từ 1"),
        ({"test_address": "a@b@c"}, "test_address"),
    ],
)
def test_config_errors_name_the_key(overrides, message):
    with pytest.raises(ConfigError, match=message):
        distribution_config(delivery_authority(**overrides))


def test_the_seed_authority_has_a_valid_distribution_block():
    authority = load_authority(SEED_AUTHORITY)
    config = distribution_config(authority)
    assert config.allowed_domains
    plan = plan_recipients(authority, None, config)
    check_allowed(plan.recipients, config)  # every seed address is inside the allowed domains
    assert len([r for r in plan.recipients if "unit" in r.roles]) == len(authority.units) - len(
        plan.missing_email
    )
    raw = yaml.safe_load((SEED_AUTHORITY / "authority.yaml").read_text(encoding="utf-8"))
    assert set(raw["distribution"]) <= {
        "sender_name",
        "reply_to",
        "copies",
        "operators",
        "allowed_domains",
        "require_approval",
        "approval_timeout_hours",
        "test_address",
        "subject",
        "attachment_name",
        "max_attempts",
        "backoff_seconds",
    }


def test_plan_orders_units_then_copies_then_operators_and_greets_heads_by_title():
    authority = delivery_authority()
    plan = plan_recipients(authority, make_decisions(), distribution_config(authority))
    assert [r.address for r in plan.recipients] == [
        "taichinh@thu.gov.vn",
        "haky@thu.gov.vn",
        "hungdao@thu.gov.vn",
        "btv@thu.gov.vn",
        "cchc-office@thu.gov.vn",
    ]
    assert plan.recipients[0].name == "Trưởng phòng Tài chính - Kế hoạch huyện"
    assert plan.recipients[1].name == "Chủ tịch UBND xã Hà Kỳ"
    assert plan.recipients[1].units == ("X-HK",) and plan.recipients[1].roles == ("unit",)
    assert plan.recipients[-1].is_operator


def test_one_address_is_one_recipient_whatever_its_roles():
    units = [*UNITS[:2], Unit("X-HD", "UBND xã Hưng Đạo", "commune", "Chủ tịch UBND xã", "HAKY@thu.gov.vn")]
    authority = delivery_authority(units, operators=["haky@thu.gov.vn"])
    plan = plan_recipients(authority, None, distribution_config(authority))
    haky = [r for r in plan.recipients if r.key == "haky@thu.gov.vn"]
    assert len(haky) == 1
    assert haky[0].units == ("X-HK", "X-HD") and haky[0].roles == ("unit", "operator")


def test_units_without_an_address_are_reported_not_guessed():
    units = [*UNITS[:2], Unit("X-HD", "UBND xã Hưng Đạo", "commune", "Chủ tịch UBND xã", "")]
    authority = delivery_authority(units)
    decisions = make_decisions()
    decisions["units"]["X-HD"]["email"] = ""
    plan = plan_recipients(authority, decisions, distribution_config(authority))
    assert plan.missing_email == ["X-HD"]
    assert "X-HD" not in [c for r in plan.recipients for c in r.units]


def test_addresses_outside_the_allowed_domains_are_all_named():
    units = [UNITS[0], Unit("X-HK", "UBND xã Hà Kỳ", "commune", "Chủ tịch UBND xã", "haky@gmail.com")]
    authority = delivery_authority(
        units, copies=[{"name": "Báo Hải Dương", "email": "toasoan@baohaiduong.vn"}]
    )
    config = distribution_config(authority)
    plan = plan_recipients(authority, None, config)
    with pytest.raises(RecipientRefused) as info:
        check_allowed(plan.recipients, config, unit_names={"X-HK": "UBND xã Hà Kỳ"})
    assert info.value.refused == [
        ("UBND xã Hà Kỳ (X-HK)", "haky@gmail.com"),
        ("Báo Hải Dương (copy)", "toasoan@baohaiduong.vn"),
    ]
    assert "Chưa gửi thư nào" in str(info.value)


def test_subdomains_are_allowed_lookalikes_are_not():
    config = distribution_config(delivery_authority(allowed_domains=["haiduong.gov.vn"]))
    assert config.allows("a@tuky.haiduong.gov.vn") and config.allows("a@HAIDUONG.gov.vn")
    assert not config.allows("a@evilhaiduong.gov.vn") and not config.allows("a@haiduong.gov.vn.evil.com")


def test_no_allowed_domains_means_no_sending():
    config = distribution_config(delivery_authority(allowed_domains=[]))
    with pytest.raises(DeliveryError, match="allowed_domains"):
        check_allowed(plan_recipients(delivery_authority(), None, config).recipients, config)


def test_select_by_unit_code_or_address():
    authority = delivery_authority()
    recipients = plan_recipients(authority, None, distribution_config(authority)).recipients
    chosen = select(recipients, ["X-HD", "BTV@thu.gov.vn", " "])
    assert [r.address for r in chosen] == ["hungdao@thu.gov.vn", "btv@thu.gov.vn"]
    with pytest.raises(DeliveryError, match="X-NONE, nobody@thu.gov.vn"):
        select(recipients, ["X-NONE", "nobody@thu.gov.vn"])


def test_the_registry_address_wins_over_the_one_in_decisions_json():
    units = [
        *UNITS[:2],
        Unit("X-HD", "UBND xã Hưng Đạo", "commune", "Chủ tịch UBND xã", "chutich.hd@thu.gov.vn"),
    ]
    authority = delivery_authority(units)
    plan = plan_recipients(authority, make_decisions(), distribution_config(authority))
    assert "chutich.hd@thu.gov.vn" in [r.address for r in plan.recipients]
    assert "hungdao@thu.gov.vn" not in [r.address for r in plan.recipients]
