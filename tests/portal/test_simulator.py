"""The portal simulator over a real socket: figures, paging, errors, OAuth2, faults, the spec, the CLI."""

from __future__ import annotations

import http.client
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import requests
from openapi_spec_validator import validate as validate_openapi
from support.net import free_tcp_port

from cchc.core.errors import ConfigError
from cchc.portal.simulator import Faults, PortalSimulator

DIGITIZED = "/api/v1/reporting/evaluation/dossier-digitized"
PAYMENT = "/api/v1/reporting/evaluation/formality-online-payment-tree"
EMAIL = "/api/v1/reporting/evaluation/official-email"
PERIOD_STATUS = "/api/v1/reporting/period-status"
POSTS = "/api/v1/cms/post-statistics"
POST_LISTING = "/api/v1/cms/post-statistics/by-root"
REPORTS = {
    DIGITIZED: {
        "received": "received",
        "receivedDigitized": "received_digitized",
        "resolved": "resolved",
        "resolvedDigitized": "resolved_digitized",
    },
    PAYMENT: {"feeDossiers": "fee_dossiers", "paidOnline": "paid_online"},
}
TIMEOUT = 10


def post(simulator: PortalSimulator, path: str, body, **kwargs) -> requests.Response:
    kwargs.setdefault("timeout", TIMEOUT)
    if isinstance(body, str | bytes):
        return requests.post(simulator.base_url + path, data=body, **kwargs)
    return requests.post(simulator.base_url + path, json=body, **kwargs)


def month_body(root: str, month: int = 8, year: int = 2023, **extra) -> dict:
    return {"timeType": "month", "year": year, "month": month, "rootDepartmentId": root, **extra}


def rows_of(data, *periods: str) -> list[dict]:
    return [row for row in data.rows if row["period"] in periods]


def sums(rows: list[dict], unit: str, column: str) -> int:
    return sum(row[column] for row in rows if row["unit_code"] == unit)


# --- figures and paging -----------------------------------------------------------------------------


def test_the_spec_is_a_valid_openapi_document(spec):
    validate_openapi(spec.doc)
    assert spec.doc["openapi"].startswith("3.1")


@pytest.mark.parametrize("path", [DIGITIZED, PAYMENT])
def test_paging_splits_children_and_keeps_parent_totals_over_all(start_simulator, data, path):
    simulator = start_simulator()
    pages = [
        post(simulator, path, month_body(data.root, currentPage=n, pageSize=2)).json()["data"]
        for n in (1, 2, 3)
    ]

    assert [[c["id"] for c in page["children"]] for page in pages] == [["P-A", "X-B"], ["X-C"], []]
    for number, page in enumerate(pages, start=1):
        assert (page["currentPage"], page["pageSize"], page["totalElements"], page["totalPages"]) == (
            number,
            2,
            3,
            2,
        )
    august = rows_of(data, "2023-08")
    expected_parent = {"id": data.root, "name": data.authority_name}
    expected_parent.update({name: sum(r[column] for r in august) for name, column in REPORTS[path].items()})
    assert all(page["parent"] == expected_parent for page in pages)


def test_paging_defaults_to_page_one_of_200(start_simulator, data):
    page = post(start_simulator(), DIGITIZED, month_body(data.root)).json()["data"]
    assert (page["currentPage"], page["pageSize"], page["totalPages"], len(page["children"])) == (
        1,
        200,
        1,
        3,
    )


@pytest.mark.parametrize("path", [DIGITIZED, PAYMENT])
def test_each_report_equals_monthly_csv(start_simulator, data, path):
    answer = post(start_simulator(), path, month_body(data.root)).json()
    assert answer["code"] == "OK"
    unit_names = {code: name for code, name, _, _ in data.units}
    expected = [
        {"id": row["unit_code"], "name": unit_names[row["unit_code"]]}
        | {name: row[column] for name, column in REPORTS[path].items()}
        for row in rows_of(data, "2023-08")
    ]
    assert answer["data"]["children"] == expected


def test_official_email_report_carries_true_false_or_null(start_simulator, data):
    answer = post(start_simulator(), EMAIL, month_body(data.root)).json()["data"]
    assert answer["parent"] == {"id": data.root, "name": data.authority_name}
    assert [(c["id"], c["officialEmailRegular"]) for c in answer["children"]] == [
        ("P-A", True),
        ("X-B", None),
        ("X-C", True),
    ]


def test_quarter_and_year_sum_the_months_that_exist(start_simulator, data):
    simulator = start_simulator()
    q3 = post(
        simulator,
        DIGITIZED,
        {"timeType": "quarter", "year": 2023, "quarter": 3, "rootDepartmentId": data.root},
    )
    year = post(simulator, PAYMENT, {"timeType": "year", "year": 2023, "rootDepartmentId": data.root})
    assert q3.status_code == year.status_code == 200

    months = rows_of(data, "2023-07", "2023-08")
    for child in q3.json()["data"]["children"]:
        assert child["received"] == sums(months, child["id"], "received")
        assert child["resolvedDigitized"] == sums(months, child["id"], "resolved_digitized")
    assert q3.json()["data"]["parent"]["received"] == sum(r["received"] for r in months)

    all_2023 = rows_of(data, "2023-06", "2023-07", "2023-08")
    for child in year.json()["data"]["children"]:
        assert child["feeDossiers"] == sums(all_2023, child["id"], "fee_dossiers")
        assert child["paidOnline"] == sums(all_2023, child["id"], "paid_online")


def test_a_unit_without_rows_in_the_period_is_absent(start_simulator, data):
    q2 = post(
        start_simulator(),
        EMAIL,
        {"timeType": "quarter", "year": 2023, "quarter": 2, "rootDepartmentId": data.root},
    )
    answer = q2.json()["data"]
    assert [c["id"] for c in answer["children"]] == ["P-A", "X-B"]
    assert answer["totalElements"] == 2


def test_official_email_over_a_quarter_is_the_latest_known_month(start_simulator, data):
    q3 = post(
        start_simulator(),
        EMAIL,
        {"timeType": "quarter", "year": 2023, "quarter": 3, "rootDepartmentId": data.root},
    )
    # X-B: true in July, unknown in August → true; X-C: false in July, true in August → true.
    assert {c["id"]: c["officialEmailRegular"] for c in q3.json()["data"]["children"]} == {
        "P-A": True,
        "X-B": True,
        "X-C": True,
    }


def test_several_authorities_are_served_by_their_root(start_simulator, data):
    answer = post(start_simulator(), DIGITIZED, month_body(data.other_root)).json()["data"]
    assert answer["parent"]["name"] == "huyện Bên Cạnh"
    assert [c["name"] for c in answer["children"]] == ["UBND xã Bên Cạnh"]


# --- errors -------------------------------------------------------------------------------------------

BAD_BODIES = [
    ({"year": 2023, "month": 8, "rootDepartmentId": "HD-DEMO"}, "timeType"),
    ({"timeType": "week", "year": 2023, "month": 8, "rootDepartmentId": "HD-DEMO"}, "timeType"),
    ({"timeType": "month", "year": "2023", "month": 8, "rootDepartmentId": "HD-DEMO"}, "year"),
    ({"timeType": "month", "month": 8, "rootDepartmentId": "HD-DEMO"}, "year"),
    ({"timeType": "month", "year": 2023, "rootDepartmentId": "HD-DEMO"}, "month"),
    ({"timeType": "month", "year": 2023, "month": 13, "rootDepartmentId": "HD-DEMO"}, "month"),
    ({"timeType": "month", "year": 2023, "month": 8.5, "rootDepartmentId": "HD-DEMO"}, "month"),
    ({"timeType": "month", "year": 2023, "month": True, "rootDepartmentId": "HD-DEMO"}, "month"),
    ({"timeType": "quarter", "year": 2023, "rootDepartmentId": "HD-DEMO"}, "quarter"),
    ({"timeType": "quarter", "year": 2023, "quarter": 5, "rootDepartmentId": "HD-DEMO"}, "quarter"),
    ({"timeType": "month", "year": 2023, "month": 8}, "rootDepartmentId"),
    ({"timeType": "month", "year": 2023, "month": 8, "rootDepartmentId": 7}, "rootDepartmentId"),
    (
        {"timeType": "month", "year": 2023, "month": 8, "rootDepartmentId": "HD-DEMO", "pageSize": 0},
        "pageSize",
    ),
    (
        {"timeType": "month", "year": 2023, "month": 8, "rootDepartmentId": "HD-DEMO", "pageSize": 501},
        "pageSize",
    ),
    (
        {"timeType": "month", "year": 2023, "month": 8, "rootDepartmentId": "HD-DEMO", "currentPage": 0},
        "currentPage",
    ),
    (
        {"timeType": "month", "year": 2023, "month": 8, "rootDepartmentId": "HD-DEMO", "currentPage": "1"},
        "currentPage",
    ),
]


@pytest.mark.parametrize(
    ("body", "field"), BAD_BODIES, ids=[f"{f}-{i}" for i, (_, f) in enumerate(BAD_BODIES)]
)
def test_a_bad_field_is_400_naming_it_and_the_spec_refuses_it_too(start_simulator, spec, body, field):
    response = post(start_simulator(), DIGITIZED, body)
    assert response.status_code == 400
    assert response.json()["code"] == "BAD_REQUEST"
    assert f"'{field}'" in response.json()["message"]
    assert spec.request_errors(DIGITIZED, body), "the spec accepts a body the simulator refuses"


@pytest.mark.parametrize("raw", ["", "not json", "[1, 2]", '"month"'])
def test_a_body_that_is_not_a_json_object_is_400(start_simulator, raw):
    response = post(start_simulator(), PERIOD_STATUS, raw, headers={"Content-Type": "application/json"})
    assert response.status_code == 400
    assert response.json()["code"] == "BAD_REQUEST"


def test_unknown_root_is_404_not_found_and_a_month_without_rows_is_404_no_data(start_simulator, data):
    simulator = start_simulator()
    unknown = post(simulator, DIGITIZED, month_body("HD-NOWHERE"))
    assert unknown.status_code == 404
    assert unknown.json()["code"] == "NOT_FOUND"
    assert "HD-NOWHERE" in unknown.json()["message"]

    for body in (
        month_body(data.root, month=9),
        {"timeType": "year", "year": 2021, "rootDepartmentId": data.root},
    ):
        empty = post(simulator, PAYMENT, body)
        assert empty.status_code == 404
        assert empty.json()["code"] == "NO_DATA"


def test_unknown_path_and_wrong_method(start_simulator):
    simulator = start_simulator()
    assert requests.post(simulator.base_url + "/api/v1/nothing", json={}, timeout=TIMEOUT).status_code == 404
    wrong = requests.get(simulator.base_url + DIGITIZED, timeout=TIMEOUT)
    assert wrong.status_code == 405
    assert wrong.headers["Allow"] == "POST"


# --- period status and CMS ------------------------------------------------------------------------------


def test_period_status_closed_when_the_month_has_data_open_otherwise(start_simulator, data):
    simulator = start_simulator()
    august = post(simulator, PERIOD_STATUS, month_body(data.root)).json()["data"]
    december = post(simulator, PERIOD_STATUS, month_body(data.root, month=12, year=2022)).json()["data"]
    september = post(simulator, PERIOD_STATUS, month_body(data.root, month=9)).json()["data"]
    assert august == {"status": "CLOSED", "closedAt": "2023-09-05T00:00:00+07:00"}
    assert december == {"status": "CLOSED", "closedAt": "2023-01-05T00:00:00+07:00"}
    assert september == {"status": "OPEN", "closedAt": None}
    q3 = {"timeType": "quarter", "year": 2023, "quarter": 3, "rootDepartmentId": data.root}
    assert post(simulator, PERIOD_STATUS, q3).json()["data"]["status"] == "OPEN"  # September missing
    assert post(simulator, PERIOD_STATUS, month_body("HD-NOWHERE")).status_code == 404


def test_period_open_fault_keeps_every_period_open(start_simulator, data):
    simulator = start_simulator(faults=Faults(period_open=True))
    answer = post(simulator, PERIOD_STATUS, month_body(data.root)).json()
    assert answer == {"code": "OK", "data": {"status": "OPEN", "closedAt": None}}
    simulator.faults.period_open = False  # faults are read per request: a running simulator follows
    assert post(simulator, PERIOD_STATUS, month_body(data.root)).json()["data"]["status"] == "CLOSED"


def test_post_statistics_per_unit(start_simulator, data):
    simulator = start_simulator()
    answer = post(simulator, POSTS, {"year": 2023, "month": 8, "unitId": "X-C"})
    assert answer.json() == {"code": "OK", "data": {"unitId": "X-C", "year": 2023, "month": 8, "posts": 7}}

    unknown = post(simulator, POSTS, {"year": 2023, "month": 8, "unitId": "X-ZZ"})
    assert (unknown.status_code, unknown.json()["code"]) == (404, "NOT_FOUND")
    no_data = post(simulator, POSTS, {"year": 2023, "month": 9, "unitId": "X-C"})
    assert (no_data.status_code, no_data.json()["code"]) == (404, "NO_DATA")
    missing = post(simulator, POSTS, {"year": 2023, "month": 8})
    assert missing.status_code == 400 and "'unitId'" in missing.json()["message"]


def test_post_statistics_needs_the_root_when_a_code_is_shared(start_simulator, data):
    simulator = start_simulator()
    ambiguous = post(simulator, POSTS, {"year": 2023, "month": 8, "unitId": "X-B"})
    assert ambiguous.status_code == 400 and "'rootDepartmentId'" in ambiguous.json()["message"]
    mine = post(simulator, POSTS, {"year": 2023, "month": 8, "unitId": "X-B", "rootDepartmentId": data.root})
    theirs = post(
        simulator, POSTS, {"year": 2023, "month": 8, "unitId": "X-B", "rootDepartmentId": data.other_root}
    )
    assert (mine.json()["data"]["posts"], theirs.json()["data"]["posts"]) == (0, 9)


# --- OAuth2 -------------------------------------------------------------------------------------------


def token(
    simulator: PortalSimulator, client_id: str = "cchc", secret: str = "s3cret-cchc", basic: bool = False
):
    url = simulator.base_url + "/oauth2/token"
    if basic:
        return requests.post(
            url, data={"grant_type": "client_credentials"}, auth=(client_id, secret), timeout=TIMEOUT
        )
    form = {"grant_type": "client_credentials", "client_id": client_id, "client_secret": secret}
    return requests.post(url, data=form, timeout=TIMEOUT)


def test_with_credentials_every_api_call_needs_a_bearer_token(start_simulator, data):
    simulator = start_simulator(client_id="cchc", client_secret="s3cret-cchc")
    refused = post(simulator, DIGITIZED, month_body(data.root))
    assert refused.status_code == 401
    assert refused.json()["code"] == "UNAUTHORIZED"
    assert refused.headers["WWW-Authenticate"].startswith("Bearer")
    assert requests.get(simulator.base_url + "/healthz", timeout=TIMEOUT).status_code == 200

    issued = token(simulator)
    assert issued.status_code == 200
    assert issued.json()["token_type"] == "Bearer" and issued.json()["expires_in"] == 3600
    headers = {"Authorization": f"Bearer {issued.json()['access_token']}"}
    assert post(simulator, DIGITIZED, month_body(data.root), headers=headers).status_code == 200

    forged = post(simulator, DIGITIZED, month_body(data.root), headers={"Authorization": "Bearer forged"})
    assert forged.status_code == 401


def test_token_endpoint_takes_basic_auth_and_refuses_wrong_credentials(start_simulator, data):
    simulator = start_simulator(client_id="cchc", client_secret="s3cret-cchc")
    basic = token(simulator, basic=True)
    assert basic.status_code == 200
    for wrong in (token(simulator, secret="sai"), token(simulator, client_id="khác", basic=True)):
        assert wrong.status_code == 401
        assert wrong.json()["code"] == "UNAUTHORIZED"
    grant = requests.post(
        simulator.base_url + "/oauth2/token", data={"grant_type": "password"}, timeout=TIMEOUT
    )
    assert grant.status_code == 400 and "'grant_type'" in grant.json()["message"]


@pytest.mark.slow  # waits for real time to pass
def test_a_token_expires_after_its_ttl(start_simulator, data):
    simulator = start_simulator(client_id="cchc", client_secret="s3cret-cchc", token_ttl=1)
    headers = {"Authorization": f"Bearer {token(simulator).json()['access_token']}"}
    assert post(simulator, PERIOD_STATUS, month_body(data.root), headers=headers).status_code == 200
    time.sleep(1.1)
    expired = post(simulator, PERIOD_STATUS, month_body(data.root), headers=headers)
    assert expired.status_code == 401
    assert "hết hạn" in expired.json()["message"]


def test_without_credentials_no_token_is_needed(start_simulator, data):
    assert post(start_simulator(), DIGITIZED, month_body(data.root)).status_code == 200


def test_credentials_must_come_in_pairs(config_dir):
    with pytest.raises(ConfigError):
        PortalSimulator(config_dir, client_id="cchc")


# --- faults -------------------------------------------------------------------------------------------


def test_fault_429_answers_with_retry_after(start_simulator, data):
    simulator = start_simulator(faults=Faults(share_429=1.0, retry_after=3))
    response = post(simulator, DIGITIZED, month_body(data.root))
    assert response.status_code == 429
    assert response.headers["Retry-After"] == "3"
    assert response.json()["code"] == "TOO_MANY_REQUESTS"


def test_fault_5xx_answers_500_502_503_with_json_or_text(start_simulator, data):
    simulator = start_simulator(faults=Faults(share_5xx=1.0, seed=3))
    seen = {}
    for _ in range(40):
        response = post(simulator, DIGITIZED, month_body(data.root))
        seen[response.status_code] = response.headers["Content-Type"]
    assert set(seen) == {500, 502, 503}
    assert seen[500].startswith("application/json") and seen[503].startswith("application/json")
    assert seen[502].startswith("text/plain")


def test_fault_drop_closes_the_connection_without_an_answer(start_simulator, data):
    simulator = start_simulator(faults=Faults(share_drop=1.0))
    with pytest.raises(requests.ConnectionError):
        post(simulator, DIGITIZED, month_body(data.root))
    assert simulator.request_log[-1] == ("POST", DIGITIZED, 0)


def test_fault_malformed_is_200_and_not_json(start_simulator, data):
    response = post(start_simulator(faults=Faults(share_malformed=1.0)), DIGITIZED, month_body(data.root))
    assert response.status_code == 200
    with pytest.raises(ValueError):
        response.json()


def test_fault_truncated_is_200_with_half_the_json(start_simulator, data):
    clean = post(start_simulator(), DIGITIZED, month_body(data.root)).content
    response = post(start_simulator(faults=Faults(share_truncated=1.0)), DIGITIZED, month_body(data.root))
    assert response.status_code == 200
    assert int(response.headers["Content-Length"]) == len(response.content) == len(clean) // 2
    assert clean.startswith(response.content)
    with pytest.raises(ValueError):
        response.json()


def test_fault_html_is_200_with_an_error_page(start_simulator, data):
    response = post(start_simulator(faults=Faults(share_html=1.0)), DIGITIZED, month_body(data.root))
    assert response.status_code == 200
    assert response.headers["Content-Type"].startswith("text/html")
    assert "Lỗi hệ thống" in response.text


def test_faults_spare_healthz_and_the_token_endpoint(start_simulator):
    simulator = start_simulator(faults=Faults(share_5xx=1.0), client_id="cchc", client_secret="s3cret-cchc")
    assert requests.get(simulator.base_url + "/healthz", timeout=TIMEOUT).json() == {"status": "ok"}
    assert token(simulator).status_code == 200


def test_fail_first_fails_exactly_the_first_requests(start_simulator, data):
    simulator = start_simulator(faults=Faults(share_5xx=0.001, fail_first=2, seed=1))
    statuses = [post(simulator, PERIOD_STATUS, month_body(data.root)).status_code for _ in range(5)]
    assert all(status >= 500 for status in statuses[:2])
    assert statuses[2:] == [200, 200, 200]


def test_the_same_seed_gives_the_same_faults(start_simulator, data):
    def statuses(seed: int) -> list[int]:
        simulator = start_simulator(faults=Faults(share_5xx=0.3, share_429=0.2, seed=seed))
        return [post(simulator, PERIOD_STATUS, month_body(data.root)).status_code for _ in range(20)]

    first = statuses(11)
    assert first == statuses(11)
    assert len(set(first)) > 1


def test_latency_delays_every_api_answer(start_simulator, data):
    simulator = start_simulator(faults=Faults(latency=0.3))
    started = time.monotonic()
    post(simulator, PERIOD_STATUS, month_body(data.root))
    assert time.monotonic() - started >= 0.3


@pytest.mark.slow  # waits for real time to pass
def test_rate_limit_answers_429_over_the_rate_then_recovers(start_simulator, data):
    simulator = start_simulator(faults=Faults(rate_limit=3, retry_after=2))
    with requests.Session() as session:
        answers = [
            session.post(simulator.base_url + PERIOD_STATUS, json=month_body(data.root), timeout=TIMEOUT)
            for _ in range(5)
        ]
        assert [a.status_code for a in answers] == [200, 200, 200, 429, 429]
        assert answers[3].headers["Retry-After"] == "2"
        time.sleep(1.05)
        again = session.post(simulator.base_url + PERIOD_STATUS, json=month_body(data.root), timeout=TIMEOUT)
        assert again.status_code == 200


def _post_from(simulator, source: str, path: str, body: dict) -> http.client.HTTPResponse:
    """POST from a given loopback address (the whole 127.0.0.0/8 reaches the simulator)."""
    connection = http.client.HTTPConnection(
        simulator.host, simulator._server.server_address[1], timeout=TIMEOUT, source_address=(source, 0)
    )
    connection.request("POST", path, body=json.dumps(body), headers={"Content-Type": "application/json"})
    response = connection.getresponse()
    response.read()
    connection.close()
    return response


@pytest.mark.parametrize("retry_after", [True, False], ids=["retry-after", "no-retry-after"])
def test_rate_limit_is_a_token_bucket_per_client(start_simulator, data, retry_after):
    simulator = start_simulator(faults=Faults(rate_limit=2, retry_after=5, limit_retry_after=retry_after))
    body = month_body(data.root)
    first = [_post_from(simulator, "127.0.0.1", PERIOD_STATUS, body) for _ in range(3)]
    assert [r.status for r in first] == [200, 200, 429]
    assert (first[2].getheader("Retry-After") == "5") is retry_after
    # Another client has its own bucket, full.
    other = [_post_from(simulator, "127.0.0.2", PERIOD_STATUS, body) for _ in range(2)]
    assert [r.status for r in other] == [200, 200]


def test_post_listing_pages_every_unit_with_a_figure(start_simulator, data):
    simulator = start_simulator()
    body = {"year": 2023, "month": 6, "rootDepartmentId": data.root, "pageSize": 1}
    pages = [post(simulator, POST_LISTING, {**body, "currentPage": n}).json()["data"] for n in (1, 2)]
    # June 2023 has no row for X-C: it is absent, as NO_DATA would say unit by unit.
    assert [item for page in pages for item in page["items"]] == [
        {"unitId": "P-A", "posts": 4},
        {"unitId": "X-B", "posts": 2},
    ]
    assert {(p["totalElements"], p["totalPages"]) for p in pages} == {(2, 2)}
    without = start_simulator(post_listing=False)
    assert post(without, POST_LISTING, body).status_code == 404


def test_shares_over_one_are_refused(config_dir):
    with pytest.raises(ConfigError):
        PortalSimulator(config_dir, faults=Faults(share_5xx=0.6, share_drop=0.6))


def test_request_log_records_every_request(start_simulator, data):
    simulator = start_simulator()
    requests.get(simulator.base_url + "/healthz", timeout=TIMEOUT)
    post(simulator, DIGITIZED, month_body("HD-NOWHERE"))
    assert simulator.request_log == [("GET", "/healthz", 200), ("POST", DIGITIZED, 404)]


# --- conformance to openapi.yaml ----------------------------------------------------------------------


def test_every_documented_answer_of_every_operation_conforms_to_the_spec(start_simulator, spec, data):
    """Drive each operation into each status the spec documents and validate what comes back."""
    checked: set[tuple[str, str, int]] = set()

    def check(method: str, path: str, response: requests.Response) -> None:
        spec.check_response(method, path, response)
        checked.add((path, method, response.status_code))

    valid = {
        DIGITIZED: month_body(data.root, pageSize=2),
        PAYMENT: {"timeType": "quarter", "year": 2023, "quarter": 3, "rootDepartmentId": data.root},
        EMAIL: {"timeType": "year", "year": 2023, "rootDepartmentId": data.root},
        PERIOD_STATUS: month_body(data.root),
        POSTS: {"year": 2023, "month": 8, "unitId": "P-A"},
        POST_LISTING: {"year": 2023, "month": 8, "rootDepartmentId": data.root, "pageSize": 2},
    }
    invalid = {path: {**body, "year": "2023"} for path, body in valid.items()}
    unknown = {
        **{path: {**body, "rootDepartmentId": "HD-NOWHERE"} for path, body in valid.items() if path != POSTS},
        POSTS: {"year": 2023, "month": 8, "unitId": "X-ZZ"},
    }
    for path, body in valid.items():
        assert not spec.request_errors(path, body), body
        assert spec.request_errors(path, invalid[path])

    plain = start_simulator()
    check("GET", "/healthz", requests.get(plain.base_url + "/healthz", timeout=TIMEOUT))
    for path in valid:
        check("POST", path, post(plain, path, valid[path]))
        check("POST", path, post(plain, path, invalid[path]))
        check("POST", path, post(plain, path, unknown[path]))
    check("POST", DIGITIZED, post(plain, DIGITIZED, month_body(data.root, month=9)))  # NO_DATA
    check("POST", PERIOD_STATUS, post(plain, PERIOD_STATUS, month_body(data.root, month=9)))  # OPEN
    check("POST", POSTS, post(plain, POSTS, {"year": 2023, "month": 9, "unitId": "P-A"}))  # NO_DATA
    no_data = {"year": 2023, "month": 9, "rootDepartmentId": data.root}
    check("POST", POST_LISTING, post(plain, POST_LISTING, no_data))

    secured = start_simulator(client_id="cchc", client_secret="s3cret-cchc")
    form = {"grant_type": "client_credentials", "client_id": "cchc", "client_secret": "s3cret-cchc"}
    assert not spec.request_errors("/oauth2/token", form, "application/x-www-form-urlencoded")
    check("POST", "/oauth2/token", token(secured))
    check("POST", "/oauth2/token", token(secured, secret="sai"))
    check(
        "POST", "/oauth2/token", requests.post(secured.base_url + "/oauth2/token", data={}, timeout=TIMEOUT)
    )
    for path in valid:
        check("POST", path, post(secured, path, valid[path]))

    limited = start_simulator(faults=Faults(share_429=1.0))
    failing = start_simulator(faults=Faults(share_5xx=1.0, seed=5))
    for path in valid:
        check("POST", path, post(limited, path, valid[path]))
        for _ in range(30):
            check("POST", path, post(failing, path, valid[path]))

    assert {(path, method) for path, method, _ in checked} == spec.operations()
    assert spec.documented_statuses() <= checked, spec.documented_statuses() - checked


# --- command line -------------------------------------------------------------------------------------


def _cli_log(config_dir: Path) -> Path:
    return config_dir.parent / "simulator.log"


def _start_cli(config_dir: Path, *extra: str, env: dict | None = None) -> tuple[subprocess.Popen, str]:
    """The simulator's command in a child process, its output in ``simulator.log`` next to the config dir:
    a pipe that nothing reads while it serves would fill and block it (see test_localrun.py)."""
    port = free_tcp_port()
    log_path = _cli_log(config_dir)
    with log_path.open("wb") as log:  # the child keeps its own copy of the descriptor
        process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "cchc.cli",
                "simulate",
                "--config-dir",
                str(config_dir),
                "--port",
                str(port),
                *extra,
            ],
            stdout=log,
            stderr=subprocess.STDOUT,
            env={**os.environ, **(env or {})},
        )
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if process.poll() is not None:
            output = log_path.read_text(encoding="utf-8")
            pytest.fail(f"the simulator exited with {process.returncode}: {output}")
        try:
            if requests.get(base + "/healthz", timeout=1).status_code == 200:
                return process, base
        except requests.ConnectionError:
            time.sleep(0.1)
    process.kill()
    pytest.fail("the simulator did not answer /healthz within 30 s")


@pytest.mark.slow  # starts the simulator in a child process
@pytest.mark.parametrize("stop_signal", [signal.SIGINT, signal.SIGTERM])
def test_cli_serves_until_a_signal_then_exits_0(config_dir, data, stop_signal):
    process, base = _start_cli(config_dir)
    try:
        answer = requests.post(base + PERIOD_STATUS, json=month_body(data.root), timeout=TIMEOUT)
        assert answer.json()["data"]["status"] == "CLOSED"
    finally:
        process.send_signal(stop_signal)
        process.wait(timeout=15)
    stderr = _cli_log(config_dir).read_text(encoding="utf-8")
    assert process.returncode == 0, stderr
    assert f"Trình giả lập cổng DVC đang chạy tại {base}" in stderr
    assert f"POST {PERIOD_STATUS} → 200" in stderr


@pytest.mark.slow  # starts the simulator in a child process
def test_cli_takes_the_client_secret_from_the_environment(config_dir, data):
    process, base = _start_cli(
        config_dir,
        "--client-id",
        "cchc",
        "--fault-5xx",
        "0",
        env={"CCHC_SIMULATOR_CLIENT_SECRET": "từ-môi-trường"},
    )
    try:
        assert (
            requests.post(base + PERIOD_STATUS, json=month_body(data.root), timeout=TIMEOUT).status_code
            == 401
        )
        form = {"grant_type": "client_credentials", "client_id": "cchc", "client_secret": "từ-môi-trường"}
        issued = requests.post(base + "/oauth2/token", data=form, timeout=TIMEOUT)
        assert issued.status_code == 200
        headers = {"Authorization": f"Bearer {issued.json()['access_token']}"}
        assert requests.post(
            base + PERIOD_STATUS, json=month_body(data.root), headers=headers, timeout=TIMEOUT
        ).ok
    finally:
        process.send_signal(signal.SIGINT)
        process.wait(timeout=15)
    assert process.returncode == 0
