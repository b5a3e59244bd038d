"""Builds the seed scenario's monthly.csv and history.csv (Tứ Kỳ, January–August 2023).

The seed letter prints rates, not counts, so the counts are constructed: every unit the letter names
gets counts whose month, 8-month and 01/4–31/8 rates are exactly the letter's figures; the district
totals for August and July give exactly the opening paragraph; every other unit gets counts that put
it in no section under the default rulebook (receipt below the commend bar but far above the "low"
bar, results and online payment comfortably above their bars, enough website posts).

Earlier months are built to agree with history.csv: a unit listed there as criticised in a month has a
month and campaign-to-date payment rate below the 30% target in that month, and no other unit does,
so running the system over April–July gives the same escalation counts as importing the history.

The output is deterministic. Run: ``python scenarios/build_seed.py`` (writes into seed/tu-ky/).
tests/test_seed_scenario.py checks every figure of the seed against the files.
"""

from __future__ import annotations

import csv
import random
from pathlib import Path

HERE = Path(__file__).resolve().parent / "seed" / "tu-ky"
MONTHS = range(1, 9)
CAMPAIGN = range(4, 9)  # online payment target in force from 01/4/2023
FIELDS = (
    "received",
    "received_digitized",
    "resolved",
    "resolved_digitized",
    "fee_dossiers",
    "paid_online",
    "web_posts",
)
METRICS = {
    "receipt": ("received_digitized", "received"),
    "result": ("resolved_digitized", "resolved"),
    "payment": ("paid_online", "fee_dossiers"),
}


# Criticisms before August 2023 (history.csv): unit → months. Hưng Đạo and Phượng Kỳ once, Dân Chủ
# and Tiên Động twice, so August is their second and third; the units reminded in August for their
# campaign-to-date payment rate were criticised in April, when the target began.
CRITICISED_BEFORE = {
    "P-TCKH": [4],
    "X-CL": [4],
    "X-HK": [4],
    "X-TS": [4],
    "X-TK": [4],
    "X-HD": [7],
    "X-PK": [6],
    "X-DC": [5, 7],
    "X-TD": [6, 7],
}


def shown(n: int, d: int) -> int:
    """Shown rate in hundredths of a percent (half-up on the exact fraction)."""
    return (2 * n * 10000 + d) // (2 * d)


def pick(target: int, d_from: int, d_to: int | None = None) -> tuple[int, int]:
    """The first (n, d) with d ≥ d_from whose shown rate is ``target`` hundredths of a percent."""
    for d in range(d_from, (d_to or d_from * 4) + 1):
        n = (target * d) // 10000
        for candidate in (n - 1, n, n + 1):
            if 0 <= candidate <= d and shown(candidate, d) == target:
                return candidate, d
    raise ValueError(f"no fraction shows {target / 100}% with denominator from {d_from}")


def pick_rest(target: int, n_fixed: int, d_fixed: int, d_from: int, lo: int, hi: int) -> tuple[int, int]:
    """Counts (n, d) for the other months so that the aggregate shows ``target``.

    The other months' own rate must stay within [lo, hi] hundredths so they do not create decisions
    the history does not know about.
    """
    for d in range(d_from, d_from * 6):
        total_d = d + d_fixed
        base = (target * total_d) // 10000
        for total_n in (base - 1, base, base + 1):
            n = total_n - n_fixed
            if 0 <= n <= d and shown(total_n, total_d) == target and lo <= shown(n, d) <= hi:
                return n, d
    raise ValueError(f"cannot reach {target / 100}% around ({n_fixed}/{d_fixed})")


def split(total: int, parts: int, rng: random.Random) -> list[int]:
    """``total`` split into ``parts`` positive-ish integers of similar size."""
    weights = [rng.uniform(0.8, 1.2) for _ in range(parts)]
    raw = [total * w / sum(weights) for w in weights]
    out = [int(x) for x in raw]
    out[-1] += total - sum(out)
    return out


def split_pair(n: int, d: int, parts: int, rng: random.Random) -> list[tuple[int, int]]:
    """Split (n, d) into monthly pairs each with n_i ≤ d_i, keeping the monthly rates close."""
    ds = split(d, parts, rng)
    ns = [min(di, round(n * di / d)) if d else 0 for di in ds]
    # Fix the rounding drift on months that can take it.
    drift = n - sum(ns)
    i = 0
    while drift != 0:
        j = i % parts
        if drift > 0 and ns[j] < ds[j]:
            ns[j] += 1
            drift -= 1
        elif drift < 0 and ns[j] > 0:
            ns[j] -= 1
            drift += 1
        i += 1
    return list(zip(ns, ds, strict=True))


def main() -> None:
    # One random stream per unit, so reordering or adding units in units.csv leaves the others' counts.
    rngs = {
        code: random.Random(f"20230831-{code}")
        for code in [u["code"] for u in csv.DictReader((HERE / "units.csv").open(encoding="utf-8"))]
    }
    units = list(csv.DictReader((HERE / "units.csv").open(encoding="utf-8")))
    codes = [u["code"] for u in units]
    kinds = {u["code"]: u["kind"] for u in units}
    data: dict[str, dict[int, dict[str, int]]] = {c: {m: {} for m in MONTHS} for c in codes}

    # 1. Every unit starts in "no section": receipt 95–98% (below the 98,5% commend bar), results
    #    ≥ 99,2%, online payment 45–90% from April (15–40% before the target existed), 4–9 posts.
    for code in codes:
        department = kinds[code] == "department"
        rng = rngs[code]
        for m in MONTHS:
            row = data[code][m]
            received = rng.randint(25, 90) if department else rng.randint(160, 380)
            row["received"] = received
            # Only August must stay under the 98,5% commend bar; earlier months were better.
            row["received_digitized"] = round(
                received * (rng.uniform(0.968, 0.984) if m == 8 else rng.uniform(0.965, 0.995))
            )
            while m == 8 and shown(row["received_digitized"], received) >= 9850:
                row["received_digitized"] -= 1  # small departments round up to 100% otherwise
            resolved = max(1, received - rng.randint(0, 12))
            row["resolved"] = resolved
            row["resolved_digitized"] = resolved - (1 if resolved > 130 and rng.random() < 0.5 else 0)
            fee = rng.randint(5, 30) if department else rng.randint(60, 160)
            if code in ("P-NV", "P-TP", "P-TTR", "P-VP"):
                fee = 0  # these departments handle no fee-bearing procedures
            # Online payment took off in August (+29,86 points district-wide): before the target
            # (January–March) 15–40%, April–July 40–70%, August 85–99%.
            rate = (
                0.15 + 0.25 * rng.random()
                if m < 4
                else (0.4 + 0.3 * rng.random() if m < 8 else 0.85 + 0.14 * rng.random())
            )
            row["fee_dossiers"] = fee
            row["paid_online"] = round(fee * rate)
            row["web_posts"] = rng.randint(4, 9)

    def set_month(code: str, m: int, metric: str, n: int, d: int) -> None:
        num, den = METRICS[metric]
        data[code][m][num] = n
        data[code][m][den] = d

    def set_window(code: str, months: list[int], metric: str, n: int, d: int) -> None:
        for m, (ni, di) in zip(months, split_pair(n, d, len(months), rngs[code]), strict=True):
            set_month(code, m, metric, ni, di)

    # 2. August, as the seed prints it (rates in hundredths of a percent).
    aug = 8
    commended = {
        # code: (receipt, result, payment or None, received from, resolved from, fee from)
        "P-KTHT": (10000, 10000, 7500, 48, 44, 20),
        "P-NV": (10000, 10000, None, 31, 29, 0),
        "X-QN": (9903, 10000, 10000, 206, 190, 120),
        "X-QK": (9915, 9943, 8683, 354, 351, 167),
        "X-DH": (9907, 10000, 9517, 214, 205, 145),
        "X-DS": (9944, 10000, 9834, 356, 330, 181),
        "X-HK": (9968, 10000, 9677, 310, 290, 31),
        "X-QT": (9883, 10000, 9677, 256, 240, 31),
    }
    for code, (receipt, result, payment, r_from, s_from, f_from) in commended.items():
        set_month(code, aug, "receipt", *pick(receipt, r_from))
        set_month(code, aug, "result", *pick(result, s_from))
        if payment is None:
            set_month(code, aug, "payment", 0, 0)
        else:
            set_month(code, aug, "payment", *pick(payment, f_from))

    # Results low in the month: Phòng Văn hóa và Thông tin (50%).
    set_month("P-VHTT", aug, "result", 3, 6)
    # Fine month, low 8 months: Tiên Động on results, Hưng Đạo on receipt.
    set_month("X-TD", aug, "result", *pick(9615, 156))
    set_month("X-HD", aug, "receipt", *pick(9767, 215))
    # Online payment: fine month, low campaign (2.3) or low both (criticised).
    payments = {
        "P-TCKH": (6727, 2816, 55),
        "X-CL": (6188, 1315, 160),
        "X-HK": (9677, 2830, 31),
        "X-TS": (4433, 1232, 97),
        "X-TK": (7818, 1952, 55),
        "X-HD": (2427, 1605, 103),
        "X-PK": (1333, 897, 75),
        "X-DC": (1951, 1250, 82),
        "X-TD": (411, 145, 73),
    }
    # Under the rules every unit whose campaign-to-date rate is still under 30% in August, although
    # its August rate is not, must have had a month with both rates under 30% before: the first month
    # that pulled its running rate under 30%. So each of them was criticised before August; the
    # months are those of history.csv. Their other campaign months carry a small volume at 30–40%.
    for code, (month_rate, campaign_rate, f_from) in payments.items():
        if code != "X-HK":
            set_month(code, aug, "payment", *pick(month_rate, f_from))
        n_aug = data[code][aug]["paid_online"]
        d_aug = data[code][aug]["fee_dossiers"]
        low_months = CRITICISED_BEFORE[code]
        fine_n = fine_d = 0
        rng = rngs[code]
        for m in (4, 5, 6, 7):
            if m in low_months:
                continue
            d = rng.randint(10, 20)
            n = -(-d * 3 // 10) + rng.randint(0, 1)  # ceil(30%), or one more
            set_month(code, m, "payment", n, d)
            fine_n, fine_d = fine_n + n, fine_d + d
        n, d = pick_rest(campaign_rate, n_aug + fine_n, d_aug + fine_d, 150, 0, 2500)
        set_window(code, low_months, "payment", n, d)

    # 3. Website posts under the required 4 for the units the letter says so.
    for code, posts in (("X-HD", 2), ("X-DC", 1), ("X-TD", 0)):
        data[code][aug]["web_posts"] = posts

    # 4. 8-month figures: Tiên Động results 86,93%, Hưng Đạo receipt 85,89%.
    for code, metric, target in (("X-TD", "result", 8693), ("X-HD", "receipt", 8589)):
        num, den = METRICS[metric]
        n, d = pick_rest(target, data[code][aug][num], data[code][aug][den], 1400, 0, 8999)
        set_window(code, list(range(1, 8)), metric, n, d)

    # 5. District totals: the seed's August figures and, through the changes it prints, July's.
    #    A unit the letter does not name absorbs the difference, within its "no section" bounds.
    totals = {
        8: {"receipt": 9767, "result": 9905, "payment": 8020},
        7: {"receipt": 9767 - 54, "result": 9905 - 24, "payment": 8020 - 2986},
    }
    bounds = {"receipt": (9000, 9840), "result": (9000, 10000), "payment": (3000, 10000)}
    earlier_bounds = {**bounds, "receipt": (9000, 10000)}
    balancers = {"receipt": "X-VT", "result": "X-NG", "payment": "X-AT"}
    for m, targets in totals.items():
        for metric, target in targets.items():
            code = balancers[metric]
            num, den = METRICS[metric]
            other_n = sum(data[c][m][num] for c in codes if c != code)
            other_d = sum(data[c][m][den] for c in codes if c != code)
            set_month(
                code,
                m,
                metric,
                *balance(target, other_n, other_d, *(bounds if m == 8 else earlier_bounds)[metric]),
            )

    check(codes, kinds, data)
    write(codes, data)


def balance(target: int, other_n: int, other_d: int, lo: int, hi: int) -> tuple[int, int]:
    """Counts of one unit that bring the district total to ``target``, its own rate in [lo, hi]."""
    for d in range(100, 5000):
        for n in range(d, -1, -1):
            own = shown(n, d)
            if own < lo:
                break
            if own <= hi and shown(other_n + n, other_d + d) == target:
                return n, d
    raise ValueError(f"cannot balance the district total to {target / 100}%")


def rate(data: dict, code: str, months, metric: str) -> int | None:
    num, den = METRICS[metric]
    n = sum(data[code][m][num] for m in months)
    d = sum(data[code][m][den] for m in months)
    return shown(n, d) if d else None


def check(codes: list[str], kinds: dict[str, str], data: dict) -> None:
    """The construction's own guard: criticisms before August are exactly those of the history."""
    for code in codes:
        for m in range(4, 8):
            month = rate(data, code, [m], "payment")
            campaign = rate(data, code, range(4, m + 1), "payment")
            criticised = month is not None and campaign is not None and month < 3000 and campaign < 3000
            expected = m in CRITICISED_BEFORE.get(code, [])
            assert criticised == expected, (code, m, month, campaign)
        for m in MONTHS:
            row = data[code][m]
            assert row["received_digitized"] <= row["received"], (code, m)
            assert row["resolved_digitized"] <= row["resolved"], (code, m)
            assert row["paid_online"] <= row["fee_dossiers"], (code, m)


def write(codes: list[str], data: dict) -> None:
    with (HERE / "monthly.csv").open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(("period", "unit_code", *FIELDS, "official_email_regular"))
        for m in MONTHS:
            for code in codes:
                row = data[code][m]
                email = (
                    "" if code.startswith("P-") else ("true" if code in ("X-QN", "X-QK", "X-DH") else "false")
                )
                writer.writerow((f"2023-{m:02d}", code, *(row[f] for f in FIELDS), email))
    with (HERE / "history.csv").open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(("period", "unit_code", "count"))
        for code in codes:
            for m in CRITICISED_BEFORE.get(code, []):
                writer.writerow((f"2023-{m:02d}", code, 1))


if __name__ == "__main__":
    main()
