"""What a letter prints (issue 10): the content hash ignores contact data and bookkeeping, follows every
printed word; ``revision`` says what changed between the letter that went out and the recomputed one.

The decisions are real: the seed's August decided by ``cchc decide`` once for the module.
"""

from __future__ import annotations

import copy
import dataclasses
import json
import shutil
from pathlib import Path

import pytest
import yaml
from support.authorities import edit_yaml
from support.paths import SEED_CONFIG

from cchc.cli import main
from cchc.core.authorities import Signer, load_authority
from cchc.letter.content import content_hash, printed_content, revision, revision_lines

AUTHORITY = "tu-ky"
PERIOD = "2023-08"
# The seed's August criticises this commune (for the second time) and reminds it: a unit with a bit
# of everything the letter prints.
UNIT = "X-HD"
PAYMENT_MONTH = "Thanh toán trực tuyến (tháng)"


def decide(config: Path, out: Path) -> dict:
    """decisions.json of the seed's August as ``cchc decide`` writes it."""
    url = f"sqlite:///{out / 'warehouse.db'}"
    argv = ["decide", "--config-dir", str(config), "--period", PERIOD, "--url", url, "--output-dir", str(out)]
    assert main(argv) == 0
    return json.loads((out / AUTHORITY / PERIOD / "decisions.json").read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def seed(tmp_path_factory):
    """(config folder, decisions.json as decided) of the seed's August, decided once for the module."""
    root = tmp_path_factory.mktemp("content")
    config = root / "config"
    shutil.copytree(SEED_CONFIG, config)
    return config, decide(config, root / "out")


@pytest.fixture
def decisions(seed) -> dict:
    return copy.deepcopy(seed[1])


@pytest.fixture(scope="module")
def authority(seed):
    return load_authority(seed[0] / AUTHORITY)


def changed(decisions: dict, edit) -> dict:
    new = copy.deepcopy(decisions)
    edit(new)
    return new


def set_payment_month(doc: dict, numerator: int, text: str) -> None:
    window = doc["units"][UNIT]["figures"]["payment"]["month"]
    window["numerator"], window["text"], window["shown"] = numerator, text, text.rstrip("%").replace(",", ".")


def test_the_seed_has_what_these_tests_change(decisions):
    unit = decisions["units"][UNIT]
    assert unit["email"] and decisions["schema"] and decisions["rulebook"]["version"]
    assert {d["kind"] for d in unit["decisions"]} == {"remind", "criticise"}
    assert decisions["operator_note"]


# --------------------------------------------------------------------------- what does not count


NOT_PRINTED = {
    "one unit's email": lambda d: d["units"][UNIT].update(email="hungdao.moi@tuky.haiduong.gov.vn"),
    "every unit's email": lambda d: [u.update(email=None) for u in d["units"].values()],
    "the schema": lambda d: d.update(schema="cchc.decisions/2"),
    "the rulebook block": lambda d: d.update(
        rulebook={"version": "default@2024-01-01", "values": {**d["rulebook"]["values"], "low_month": "91"}}
    ),
    "the order of keys": lambda d: d.update(dict(reversed(list(d.items())))),
}


@pytest.mark.parametrize("edit", list(NOT_PRINTED.values()), ids=list(NOT_PRINTED))
def test_what_the_letter_does_not_print_leaves_the_content_alone(decisions, authority, edit):
    before = content_hash(decisions, authority)
    assert content_hash(changed(decisions, edit), authority) == before


def test_hashing_leaves_the_decisions_untouched(decisions, authority):
    kept = copy.deepcopy(decisions)
    content_hash(decisions, authority)
    printed = printed_content(decisions, authority)
    assert decisions == kept  # the emails are still there for the distribution
    assert "email" not in printed["units"][UNIT] and "schema" not in printed and "rulebook" not in printed


def test_the_distribution_block_and_unit_addresses_of_the_authority_do_not_count(decisions, authority):
    before = content_hash(decisions, authority)
    other = dataclasses.replace(
        authority,
        extra={**authority.extra, "distribution": {**authority.extra["distribution"], "sender_name": "Khác"}},
        units=[dataclasses.replace(u, email=f"moi.{u.email}") for u in authority.units],
    )
    assert content_hash(decisions, other) == before


# --------------------------------------------------------------------------- what counts


PRINTED = {
    "a printed figure": lambda d: set_payment_month(d, 45, "43,69%"),
    "a figure's numerator only": lambda d: d["units"][UNIT]["figures"]["receipt"]["ytd"].update(
        numerator=1389
    ),
    "a unit's name": lambda d: d["units"][UNIT].update(name="UBND xã Hưng Đạo Mới"),
    "a decision's section": lambda d: d["units"][UNIT]["decisions"][0].update(section="2.9"),
    "a decision dropped": lambda d: d["units"][UNIT]["decisions"].pop(),
    "the sections": lambda d: d["sections"].pop(0),
    "the operator note": lambda d: d.update(operator_note="đã có sự tiến bộ ở 6/7 lĩnh vực"),
    "an authority total": lambda d: d["totals"]["payment"].update(text="80,3%"),
}


@pytest.mark.parametrize("edit", list(PRINTED.values()), ids=list(PRINTED))
def test_every_printed_change_changes_the_content(decisions, authority, edit):
    assert content_hash(changed(decisions, edit), authority) != content_hash(decisions, authority)


@pytest.mark.parametrize(
    "change",
    [
        {"signer": Signer(name="Nguyễn Văn B", title="PHÓ CHỦ TỊCH", on_behalf="KT. CHỦ TỊCH")},
        {"place": "Hải Dương"},
        {"copies": ["Như trên", "Lưu: VT"]},
    ],
    ids=["signer", "place", "copies"],
)
def test_the_printed_lines_of_authority_yaml_count(decisions, authority, change):
    assert content_hash(decisions, dataclasses.replace(authority, **change)) != content_hash(
        decisions, authority
    )


def wording_variant(seed, tmp_path) -> tuple:
    """The seed authority, and the same with another ``letter.target_giver`` (words printed at render time)."""
    folder = tmp_path / AUTHORITY
    shutil.copytree(seed[0] / AUTHORITY, folder)
    before = load_authority(folder)
    document = yaml.safe_load((folder / "authority.yaml").read_text(encoding="utf-8"))
    edit_yaml(folder / "authority.yaml", letter={**document["letter"], "target_giver": "HĐND tỉnh"})
    return before, load_authority(folder)


def docx_text(path: Path) -> str:
    import docx

    return "\n".join(p.text for p in docx.Document(str(path)).paragraphs)


def test_the_letter_wording_block_is_printed(seed, tmp_path):
    """The premise of the next test: ``letter.target_giver`` changes the words of the letter."""
    from cchc.letter.render import render_letter

    decisions_file = tmp_path / "decisions.json"
    decisions_file.write_text(json.dumps(seed[1], ensure_ascii=False), encoding="utf-8")
    before, after = wording_variant(seed, tmp_path)
    texts = [
        docx_text(render_letter(decisions_file, a, tmp_path / f"out{i}", pdf=False).docx_path)
        for i, a in enumerate((before, after))
    ]
    assert "UBND tỉnh" in texts[0] and "HĐND tỉnh" in texts[1]


def test_the_letter_wording_block_counts(seed, decisions, tmp_path):
    before, after = wording_variant(seed, tmp_path)
    assert content_hash(decisions, after) != content_hash(decisions, before)


def test_a_new_rulebook_version_with_the_same_values_prints_the_same_letter(
    seed, decisions, authority, tmp_path
):
    config = tmp_path / "config"
    shutil.copytree(seed[0], config)
    # The default value restated as the authority's own: the rules in force are the same, their id is not.
    edit_yaml(config / AUTHORITY / "authority.yaml", rules={"posts_required": 4})
    again = decide(config, tmp_path / "out")
    assert again["rulebook"]["version"] != decisions["rulebook"]["version"]
    assert revision(decisions, again) == {"units": [], "totals": {}, "other": {}}  # nothing printed differs
    assert content_hash(again, authority) == content_hash(decisions, authority)


# --------------------------------------------------------------------------- revisions


def test_nothing_changed_is_an_empty_revision(decisions):
    moved = changed(decisions, NOT_PRINTED["one unit's email"])
    assert revision(decisions, moved) == {"units": [], "totals": {}, "other": {}}
    assert revision_lines(revision(decisions, moved)) == []


def test_a_revised_figure_names_the_unit_old_and_new_and_the_totals(decisions):
    old_window = decisions["units"][UNIT]["figures"]["payment"]["month"]
    old_total = decisions["totals"]["payment"]["text"]

    def revise(d):
        set_payment_month(d, old_window["numerator"] + 20, "43,69%")
        d["totals"]["payment"]["text"] = "80,91%"

    changes = revision(decisions, changed(decisions, revise))
    old_text = f"{old_window['text']} ({old_window['numerator']}/{old_window['denominator']})"
    new_text = f"43,69% ({old_window['numerator'] + 20}/{old_window['denominator']})"
    assert changes["units"] == [
        {"code": UNIT, "name": "UBND xã Hưng Đạo", "figures": {PAYMENT_MONTH: [old_text, new_text]}}
    ]
    assert changes["totals"] == {"Thanh toán trực tuyến": [old_total, "80,91%"]}
    assert changes["other"] == {}
    assert revision_lines(changes) == [
        f"UBND xã Hưng Đạo ({UNIT}), {PAYMENT_MONTH}: {old_text} → {new_text}",
        f"Toàn cơ quan, Thanh toán trực tuyến: {old_total} → 80,91%",
    ]
    json.dumps(changes, ensure_ascii=False)  # it goes into revision.json as it is


def test_a_changed_decision_and_a_renamed_unit(decisions):
    def revise(d):
        d["units"][UNIT]["decisions"] = [x for x in d["units"][UNIT]["decisions"] if x["kind"] != "criticise"]
        d["units"][UNIT]["name"] = "UBND xã Hưng Đạo Mới"

    changes = revision(decisions, changed(decisions, revise))
    (unit,) = changes["units"]
    count = next(x["count"] for x in decisions["units"][UNIT]["decisions"] if x["kind"] == "criticise")
    remind = next(x["section"] for x in decisions["units"][UNIT]["decisions"] if x["kind"] == "remind")
    assert unit["renamed"] == ["UBND xã Hưng Đạo", "UBND xã Hưng Đạo Mới"]
    assert unit["decisions"] == [
        [f"mục {remind}: nhắc nhở", f"mục 3: phê bình lần thứ {count}"],
        [f"mục {remind}: nhắc nhở"],
    ]
    lines = revision_lines(changes)
    assert lines[0] == f"UBND xã Hưng Đạo Mới ({UNIT}): tên UBND xã Hưng Đạo → UBND xã Hưng Đạo Mới"
    assert lines[1] == (
        f"UBND xã Hưng Đạo Mới ({UNIT}), quyết định: mục {remind}: nhắc nhở; mục 3: phê bình lần thứ "
        f"{count} → mục {remind}: nhắc nhở"
    )


def test_a_unit_new_in_the_registry_shows_dashes_for_what_was_not_there(decisions):
    def add(d):
        d["units"]["X-NEW"] = {**copy.deepcopy(d["units"][UNIT]), "code": "X-NEW", "name": "UBND xã Mới"}

    changes = revision(decisions, changed(decisions, add))
    (unit,) = changes["units"]
    assert unit["code"] == "X-NEW" and unit["name"] == "UBND xã Mới"
    assert all(old is None and new for old, new in unit["figures"].values())
    lines = revision_lines(changes)
    assert all(line.startswith("UBND xã Mới (X-NEW)") for line in lines)
    assert any(": — → " in line for line in lines) and any("không có →" in line for line in lines)


def test_the_operator_note_and_the_authority_lines_are_other_changes(decisions, authority):
    from cchc.letter.content import authority_printed

    new = changed(decisions, PRINTED["the operator note"])
    old_lines = authority_printed(authority)
    new_lines = authority_printed(dataclasses.replace(authority, place="Hải Dương"))
    changes = revision(decisions, new, old_lines, new_lines)
    assert changes["units"] == [] and changes["totals"] == {}
    assert changes["other"]["operator_note"] == [decisions["operator_note"], new["operator_note"]]
    assert changes["other"]["authority.yaml"] == [{"place": "Tứ Kỳ"}, {"place": "Hải Dương"}]
    lines = revision_lines(changes)
    assert f'operator_note: "{decisions["operator_note"]}" → "{new["operator_note"]}"' in lines
    assert 'authority.yaml: {"place": "Tứ Kỳ"} → {"place": "Hải Dương"}' in lines
