"""The counts, metrics and windows every stage speaks of (BRIEF §2), defined once.

The extract stage writes them, validation checks them, the warehouse stores and sums them, the
decisions compare them with the rulebook's bars and the letter words them.
"""

from __future__ import annotations

# Counts of dossiers (and website posts) per unit and month, as the portal gives them.
COUNT_FIELDS = (
    "received",
    "received_digitized",
    "resolved",
    "resolved_digitized",
    "fee_dossiers",
    "paid_online",
    "web_posts",
)
MONTHLY_COLUMNS = ("period", "unit_code", *COUNT_FIELDS)
# Numerator and denominator of each rate; a numerator above its denominator is impossible.
METRIC_FIELDS = {
    "receipt": ("received_digitized", "received"),
    "result": ("resolved_digitized", "resolved"),
    "payment": ("paid_online", "fee_dossiers"),
}
# The extract stage's tidy table, which validation checks and the warehouse loads.
EXTRACT_COLUMNS = ("authority", "period", "unit_code", *COUNT_FIELDS, "official_email_regular", "source")

RATE_METRICS = ("receipt", "result", "payment")
# Website posts are compared with a required minimum, not divided.
METRICS = (*RATE_METRICS, "posts")
# Windows of a period P: P, the month before (for "tăng/giảm"), January to P, the campaign start to P.
WINDOWS = ("month", "previous_month", "ytd", "campaign")
METRIC_LABELS = {
    "receipt": "Tiếp nhận",
    "result": "Kết quả giải quyết",
    "payment": "Thanh toán trực tuyến",
    "posts": "Tin bài đăng tải",
}

# The decisions' vocabulary (decisions.json, docs/decisions.md): what the rules decide and the letter words.
DECISION_KINDS = ("commend", "remind", "criticise", "request")
SECTION_KINDS = (*DECISION_KINDS, "directives")
COMMEND_GROUPS = ("agencies", "communes_official_email", "communes")
# Sub-sections of the reminders, in the letter's order (2.1 results, 2.2 receipt, 2.3 payment), and
# the order of the reason groups inside each.
REMIND_METRICS = ("result", "receipt", "payment")
REMIND_REASONS = {
    "result": ("low_month", "low_ytd"),
    "receipt": ("low_month", "low_ytd"),
    "payment": ("low_month", "low_campaign"),
}
