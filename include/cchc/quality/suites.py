"""Expectation suites over the extract stage's table of one authority and period, built in code.

Two suites per source (``api`` or ``excel``): the critical one stops the run, the warning one is only
reported. Both sources get the same checks; the suite name records where the figures came from, so
the Data Docs of a period tell an API run from an Excel one.

The suites run over a *prepared* frame (see ``validate.prepare_frame``): the columns of
``extracted.csv`` exactly as read, as text, so that "-3", "12.5" or a blank reach the expectations
instead of crashing the reader; plus derived columns the arithmetic checks need:

- ``line``: the CSV line (header = line 1), reported beside ``unit_code`` for every failing row;
- ``<field>__int``: the count as an integer, empty where the text is not one (already reported by the
  integer check, so the comparisons skip it rather than report it twice);
- ``<field>__vs_previous``: this month's count over the previous month's, where that one was > 0;
- ``official_email_regular__commune``: the value for commune-level units only, when any commune has one.

Each expectation carries ``meta`` = ``{"level", "check", "fields", ...}``; ``validate`` turns a failed
result into Vietnamese messages by ``check``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from cchc.core.fields import COUNT_FIELDS, EXTRACT_COLUMNS, METRIC_FIELDS
from cchc.quality.result import CRITICAL, WARNING

SOURCES = ("api", "excel")
# numerator -> denominator (brief §2): a numerator above its denominator is impossible.
RATIOS = tuple(METRIC_FIELDS.values())
# The portal's parent carries these counts (web posts come per unit from the CMS, with no parent).
TOTAL_FIELDS = tuple(f for f in COUNT_FIELDS if f != "web_posts")
COMMUNE_KINDS = ("commune", "township", "ward", "special_zone")
INDEX_COLUMNS = ["unit_code", "line"]
INTEGER_REGEX = r"^[0-9]+$"
BOOLEAN_REGEX = r"^(?:true|false|True|False|TRUE|FALSE)$"  # no group: pandas warns on groups
JUMP_LIMIT = 10  # a count more than tenfold the previous month's is suspicious, not impossible
WEB_POSTS_LIMIT = 500  # a unit's website rarely publishes more than ~15 posts a day
EMAIL_COMMUNE_COLUMN = "official_email_regular__commune"
# Check ids, in the order the report lists them.
CHECKS = (
    "columns",
    "unit_known",
    "unit_unique",
    "unit_registry",
    "authority",
    "period",
    "source",
    "count_integer",
    "email_boolean",
    "numerator_le_denominator",
    "parent_total",
    "jump",
    "web_posts_limit",
    "email_commune",
)


def int_column(name: str) -> str:
    return f"{name}__int"


def jump_column(name: str) -> str:
    return f"{name}__vs_previous"


def suite_name(source: str, level: str) -> str:
    return f"cchc_extract_{source}_{level}"


@dataclass(frozen=True)
class SuiteInputs:
    """What the suites of one run depend on (the registry, the period, the portal totals...)."""

    authority_id: str
    period: str
    source: str
    unit_codes: tuple[str, ...]
    columns: frozenset[str]  # columns present in extracted.csv
    parent_totals: dict[str, int] = field(default_factory=dict)
    email_expected: bool = False  # some commune has official_email_regular: the others must too


def _meta(level: str, check: str, fields: list[str], **extra: Any) -> dict[str, Any]:
    """What the interpreter of the results needs to word a failure: its level, check and fields."""
    return {"level": level, "check": check, "fields": fields, **extra}


def _identity_checks(gxe: Any, inputs: SuiteInputs) -> list[Any]:
    """Columns, the registry's units (known, unique, all present) and the table's authority/period/source."""
    present = inputs.columns
    # A missing column is reported once, here; the checks of that column are left out rather than
    # failing on every unit.
    checks = [
        gxe.ExpectTableColumnsToMatchSet(
            column_set=list(EXTRACT_COLUMNS), exact_match=False, meta=_meta(CRITICAL, "columns", [])
        )
    ]
    registry = list(inputs.unit_codes)
    if "unit_code" in present:
        unit = ["unit_code"]
        checks += [
            gxe.ExpectColumnValuesToBeInSet(
                column="unit_code", value_set=registry, meta=_meta(CRITICAL, "unit_known", unit)
            ),
            gxe.ExpectColumnValuesToBeUnique(column="unit_code", meta=_meta(CRITICAL, "unit_unique", unit)),
            # With unit_known this makes the distinct codes equal the registry. Not
            # ExpectColumnDistinctValuesToEqualSet: with unknown codes present its result breaks the
            # Data Docs renderer in GX 1.24 (KeyError 'unexpected_percent'), and unit_known names
            # them by row anyway.
            gxe.ExpectColumnDistinctValuesToContainSet(
                column="unit_code", value_set=registry, meta=_meta(CRITICAL, "unit_registry", unit)
            ),
        ]
    for column, expected in (
        ("authority", inputs.authority_id),
        ("period", inputs.period),
        ("source", inputs.source),
    ):
        if column in present:
            meta = _meta(CRITICAL, column, [column], expected=expected)
            checks.append(gxe.ExpectColumnValuesToBeInSet(column=column, value_set=[expected], meta=meta))
    return checks


def _value_checks(gxe: Any, inputs: SuiteInputs) -> list[Any]:
    """Whole counts, true/false flags, numerators within denominators, sums equal to the portal's totals."""
    present = inputs.columns
    checks = []
    for name in COUNT_FIELDS:
        if name in present:
            # Blanks are kept as "" (not null) so that this one check also says "not null": a blank
            # cell then gets one message ("ô trống"), not one from a not-null check and another here.
            meta = _meta(CRITICAL, "count_integer", [name])
            checks.append(gxe.ExpectColumnValuesToMatchRegex(column=name, regex=INTEGER_REGEX, meta=meta))
    if "official_email_regular" in present:
        meta = _meta(CRITICAL, "email_boolean", ["official_email_regular"])
        checks.append(
            gxe.ExpectColumnValuesToMatchRegex(
                column="official_email_regular", regex=BOOLEAN_REGEX, meta=meta
            )
        )
    for numerator, denominator in RATIOS:
        if numerator in present and denominator in present:
            checks.append(
                gxe.ExpectColumnPairValuesAToBeGreaterThanB(
                    column_A=int_column(denominator),
                    column_B=int_column(numerator),
                    or_equal=True,
                    ignore_row_if="either_value_is_missing",
                    meta=_meta(CRITICAL, "numerator_le_denominator", [numerator, denominator]),
                )
            )
    for name, total in sorted(inputs.parent_totals.items()):
        if name in present:
            meta = _meta(CRITICAL, "parent_total", [name], expected=total)
            checks.append(
                gxe.ExpectColumnSumToBeBetween(
                    column=int_column(name), min_value=total, max_value=total, meta=meta
                )
            )
    return checks


def _warning_checks(gxe: Any, inputs: SuiteInputs) -> list[Any]:
    """Tenfold jumps against last month, implausible post counts, communes without the email figure."""
    present = inputs.columns
    checks = []
    for name in COUNT_FIELDS:
        if name in present:
            meta = _meta(WARNING, "jump", [name], limit=JUMP_LIMIT)
            checks.append(
                gxe.ExpectColumnValuesToBeBetween(column=jump_column(name), max_value=JUMP_LIMIT, meta=meta)
            )
    if "web_posts" in present:
        meta = _meta(WARNING, "web_posts_limit", ["web_posts"], limit=WEB_POSTS_LIMIT)
        checks.append(
            gxe.ExpectColumnValuesToBeBetween(
                column=int_column("web_posts"), max_value=WEB_POSTS_LIMIT, meta=meta
            )
        )
    if inputs.email_expected:
        meta = _meta(WARNING, "email_commune", ["official_email_regular"])
        checks.append(
            gxe.ExpectColumnValuesToBeInSet(
                column=EMAIL_COMMUNE_COLUMN, value_set=["true", "false"], meta=meta
            )
        )
    return checks


def build_suites(inputs: SuiteInputs) -> dict[str, Any]:
    """``{level: ExpectationSuite}`` (not yet added to a context). Imports GX: call inside a task."""
    import great_expectations as gx
    import great_expectations.expectations as gxe

    if inputs.source not in SOURCES:
        raise ValueError(f"unknown source {inputs.source!r}")
    levels = {
        CRITICAL: _identity_checks(gxe, inputs) + _value_checks(gxe, inputs),
        WARNING: _warning_checks(gxe, inputs),
    }
    suites = {}
    for level, expectations in levels.items():
        meta = {
            "authority": inputs.authority_id,
            "period": inputs.period,
            "source": inputs.source,
            "level": level,
        }
        suite = gx.ExpectationSuite(name=suite_name(inputs.source, level), meta=meta)
        for expectation in expectations:
            suite.add_expectation(expectation)
        suites[level] = suite
    return suites
