"""The "Báo cáo CCHC" page through Airflow's own API app (plugins/cchc_reports.py loaded as the API
server loads it), over a seed month the real pipeline made (tests/ui/conftest.py).

What it must do for the operators (issue 13): refuse anyone not logged in on every route, serve only
the period's own files, show markup in a unit name as text, print the seed's figures as the letter
does (97,67% / 99,05% / 80,2%; "—" where a rate is undefined), export the table to CSV and Excel as
shown, and draw a unit's trend.
"""

from __future__ import annotations

import csv
import io
import os
from pathlib import Path

import pytest
from lxml import html as lxml_html
from support.ui_month import AUTHORITY, MARKUP_NAME, MARKUP_UNIT, OTHER, PERIOD, REFUSED_MAILBOX, simple_token

QUERY = {"authority": AUTHORITY, "period": PERIOD}


def page(client, path: str, **params):
    response = client.get(path, params={**QUERY, **params})
    assert response.status_code == 200, (path, response.status_code, response.text[:500])
    return lxml_html.fromstring(response.text), response


def text(node) -> str:
    """The node's text as a reader sees it: one space between the pieces of every element."""
    return " ".join(" ".join(node.itertext()).split())


def plugin_routes(airflow_client) -> list[str]:
    """Every route path of the plugin's app as Airflow mounted it (built on its first request)."""
    from fastapi.routing import APIRoute
    from starlette.routing import Mount

    airflow_client.get("/cchc/")  # the plugin builds its app on the first request
    mount = next(r for r in airflow_client.app.routes if isinstance(r, Mount) and r.path == "/cchc")
    app = getattr(mount.app, "_app", mount.app)
    return sorted(r.path for r in app.routes if isinstance(r, APIRoute))


SAMPLE_PATH_VALUES = {
    "unit_id": MARKUP_UNIT,
    "name": "letter-pdf",
    "authority": AUTHORITY,
    "period": PERIOD,
    "path": "index.html",
}


def concrete(path: str) -> str:
    for key, value in SAMPLE_PATH_VALUES.items():
        path = path.replace(f"{{{key}}}", value).replace(f"{{{key}:path}}", value)
    assert "{" not in path, f"route {path}: add a sample value for its parameter"
    return path


# --------------------------------------------------------------------------- security


def test_every_route_of_the_plugin_refuses_a_request_without_a_valid_user(airflow_client):
    from fastapi.testclient import TestClient

    routes = plugin_routes(airflow_client)
    assert {"/", "/units", "/units/{unit_id}", "/files", "/download/{name}", "/deliveries"} <= set(routes)
    anonymous = TestClient(airflow_client.app, base_url="http://localhost")
    for route in routes:
        path = "/cchc" + concrete(route)
        params = {**QUERY, "dag_id": "cchc_letters", "run_id": "x"}
        assert anonymous.get(path, params=params).status_code == 401, path
        forged = anonymous.get(path, params=params, headers={"Authorization": "Bearer not.a.jwt"})
        assert forged.status_code in (401, 403), path
        anonymous.cookies.set("_token", "forged")
        assert anonymous.get(path, params=params).status_code in (401, 403), path
        anonymous.cookies.clear()


def test_a_user_without_read_access_to_the_dags_is_refused(airflow_client):
    # The simple auth manager's role None has no permission at all.
    no_role = simple_token(role=None, username="nobody")  # type: ignore[arg-type]
    response = airflow_client.get("/cchc/", params=QUERY, headers={"Authorization": f"Bearer {no_role}"})
    assert response.status_code == 403


@pytest.mark.parametrize(
    "path",
    [
        "/cchc/download/..%2F..%2Fwarehouse.db",
        "/cchc/download/%2Fetc%2Fpasswd",
        "/cchc/download/letter.pdf",
        "/cchc/download/raw",
        "/cchc/datadocs/tu-ky/2023-08/..%2F..%2F..%2Fwarehouse.db",
        "/cchc/datadocs/tu-ky/2023-08/../decisions.json",
        "/cchc/datadocs/tu-ky/2023-08/%2Fetc%2Fpasswd",
        "/cchc/datadocs/tu-ky/2023-08//etc/passwd",
        "/cchc/datadocs/tu-ky/2023-08/result.json%00.html",
        "/cchc/datadocs/..%2F..%2F/2023-08/index.html",
        "/cchc/datadocs/tu-ky/..%2F..%2Fwarehouse.db/index.html",
    ],
)
def test_no_path_from_the_request_leaves_the_period_artefacts(client, path):
    response = client.get(path, params=QUERY)
    assert response.status_code in (400, 403, 404), (path, response.status_code)
    assert b"SQLite format" not in response.content and b"root:" not in response.content


def test_a_symlink_planted_in_the_period_folder_is_not_served(client, ui_month, tmp_path):
    from cchc.core.paths import PeriodFolder

    secret = tmp_path / "secret.txt"
    secret.write_text("bí mật ngoài thư mục kỳ", encoding="utf-8")
    folder = PeriodFolder(ui_month.out, AUTHORITY, PERIOD)
    planted = [folder.validation_dir / "planted.html", folder.revision_json]
    for link in planted:
        os.symlink(secret, link)
    try:
        assert client.get("/cchc/datadocs/tu-ky/2023-08/planted.html", params=QUERY).status_code == 404
        assert client.get("/cchc/download/revision", params=QUERY).status_code == 404
        files, _ = page(client, "/cchc/files")
        assert not files.xpath("//a[@id='file-revision']")
    finally:
        for link in planted:
            link.unlink()


def test_an_unknown_authority_or_a_malformed_period_is_refused(client):
    assert client.get("/cchc/units", params={"authority": "../tu-ky", "period": PERIOD}).status_code == 404
    assert (
        client.get("/cchc/units", params={"authority": AUTHORITY, "period": "2023-8/.."}).status_code == 400
    )


def test_a_unit_name_with_markup_is_shown_as_text(client):
    response = client.get("/cchc/units", params={"authority": OTHER, "period": PERIOD})
    assert response.status_code == 200
    assert "<script>alert" not in response.text
    assert "&lt;script&gt;alert(&#34;cchc&#34;)&lt;/script&gt;" in response.text
    tree = lxml_html.fromstring(response.text)
    # The only scripts are the page's own, the same as on a page without markup in its data.
    clean = lxml_html.fromstring(
        client.get("/cchc/units", params={"authority": AUTHORITY, "period": PERIOD}).text
    )
    assert [e.text for e in tree.xpath("//script")] == [e.text for e in clean.xpath("//script")]
    assert all("alert" not in (e.text or "") for e in tree.xpath("//script"))
    row = tree.xpath(f"//table[@id='units']//tr[@data-unit='{MARKUP_UNIT}']")[0]
    assert text(row.xpath(".//a[@class='unit-trend']")[0]) == MARKUP_NAME
    trend = client.get(f"/cchc/units/{MARKUP_UNIT}", params={"authority": OTHER, "period": PERIOD})
    assert trend.status_code == 200 and "<script>alert" not in trend.text


# --------------------------------------------------------------------------- what the pages show


def test_the_page_opens_on_the_first_authority_and_its_latest_period_with_a_letter(client):
    tree, _ = page(client, "/cchc/", authority=None, period=None)
    assert tree.xpath("//select[@id='authority']/option[@selected]/@value") == [AUTHORITY]
    assert tree.xpath("//select[@id='period']/option[@selected]/@value") == [PERIOD]
    assert tree.xpath("//form[@id='choose']//button[@id='show']")
    for nav in ("nav-overview", "nav-units", "nav-deliveries", "nav-files"):
        href = tree.xpath(f"//a[@id='{nav}']/@href")[0]
        assert f"authority={AUTHORITY}" in href and f"period={PERIOD}" in href


def test_the_units_table_prints_the_seed_figures_as_the_letter_does(client):
    tree, _ = page(client, "/cchc/units")
    table = tree.xpath("//table[@id='units']")[0]
    whole = table.xpath(".//tr[@data-unit='*']")[0]

    def cell(row, column: str) -> str:
        return text(row.xpath(f".//td[@data-col='{column}']")[0])

    assert (cell(whole, "receipt_month"), cell(whole, "result_month"), cell(whole, "payment_month")) == (
        "97,67%",
        "99,05%",
        "80,2%",
    )
    units = table.xpath(".//tr[@data-unit!='*']")
    assert len(units) == 35
    hung_dao = table.xpath(".//tr[@data-unit='X-HD']")[0]
    assert cell(hung_dao, "receipt_month") == "97,67%"
    assert cell(hung_dao, "payment_month") == "24,27%"
    assert cell(hung_dao, "payment_campaign") == "16,05%"
    assert "bad" in hung_dao.xpath(".//td[@data-col='payment_month']/@class")[0]
    assert "Phê bình (mục 3), thanh toán trực tuyến, lần thứ hai" in text(hung_dao)
    commended = table.xpath(".//tr[@data-unit='X-QN']")[0]
    assert "good" in commended.xpath(".//td[@data-col='receipt_month']/@class")[0]
    assert "Biểu dương (mục 1)" in text(commended)


def test_an_undefined_rate_is_shown_as_a_dash_never_as_zero(client):
    tree, _ = page(client, "/cchc/units")
    office = tree.xpath("//table[@id='units']//tr[@data-unit='P-VP']")[0]  # no fee-paying dossiers
    payment = office.xpath(".//td[@data-col='payment_month']")[0]
    assert text(payment) == "—"
    assert "none" in payment.get("class")
    assert "0%" not in text(office.xpath(".//td[@data-col='payment_campaign']")[0])


def test_the_units_table_filters_and_sorts_on_the_server(client):
    tree, _ = page(client, "/cchc/units", kind="department")
    kinds = set(tree.xpath("//table[@id='units']//tr[@data-unit!='*']/@data-kind"))
    assert kinds == {"department"}
    tree, _ = page(client, "/cchc/units", section="3")
    assert sorted(tree.xpath("//table[@id='units']//tr[@data-unit!='*']/@data-unit")) == ["X-HD", "X-PK"]
    tree, _ = page(client, "/cchc/units", section="2")  # 2.1, 2.2 and 2.3 together
    assert len(tree.xpath("//table[@id='units']//tr[@data-unit!='*']")) >= 5
    tree, _ = page(client, "/cchc/units", sort="payment_month", order="asc")
    order = tree.xpath("//table[@id='units']//tr[@data-unit!='*']/@data-unit")
    assert order[0] == "X-TD"  # 4,11%, the lowest
    undefined = {"P-VP", "P-NV", "P-TP", "P-TTR"}
    assert set(order[-4:]) == undefined  # undefined rates sort last, whichever the order


def test_csv_and_excel_exports_hold_the_table_as_shown(client):
    tree, _ = page(client, "/cchc/units", kind="commune")
    shown = {
        row.get("data-unit"): [text(td) for td in row.xpath(".//td[@data-col]")]
        for row in tree.xpath("//table[@id='units']//tr[@data-unit]")
    }
    csv_href = tree.xpath("//a[@id='export-csv']/@href")[0]
    xlsx_href = tree.xpath("//a[@id='export-xlsx']/@href")[0]
    assert csv_href.startswith("/cchc/units.csv?") and "kind=commune" in csv_href
    assert xlsx_href.startswith("/cchc/units.xlsx?") and "kind=commune" in xlsx_href

    response = client.get(csv_href)
    assert response.status_code == 200 and "text/csv" in response.headers["content-type"]
    rows = list(csv.reader(io.StringIO(response.content.decode("utf-8-sig"))))
    header, body = rows[0], rows[1:]
    from openpyxl import load_workbook

    response = client.get(xlsx_href)
    assert response.status_code == 200
    book = load_workbook(io.BytesIO(response.content))
    sheet = [["" if v is None else str(v) for v in row] for row in book.active.iter_rows(values_only=True)]
    assert sheet[0] == header
    assert sheet[1:] == body
    columns = header.index("Tin bài") + 1
    assert {r[0]: r[3:columns] for r in body} == shown
    assert next(r for r in body if r[0] == "*")[3:8:2] == ["97,67%", "99,05%", "80,2%"]


def test_a_units_trend_is_drawn_with_the_targets(client):
    tree, _ = page(client, "/cchc/units")
    href = tree.xpath("//tr[@data-unit='X-HD']//a[@class='unit-trend']/@href")[0]
    trend = client.get(href)
    assert trend.status_code == 200
    tree = lxml_html.fromstring(trend.text)
    svg = tree.xpath("//svg[@id='trend-chart']")[0]
    assert {line.get("data-metric") for line in svg.xpath(".//polyline")} == {"receipt", "result", "payment"}
    assert len(svg.xpath(".//polyline[@data-metric='receipt']")[0].get("points").split()) == 8
    assert {t.get("data-target") for t in svg.xpath(".//line[@class='target']")} == {
        "commend_receipt",
        "low_month",
        "payment_target",
    }
    august = tree.xpath("//table[@id='trend']//tr[@data-period='2023-08']")[0]
    assert [text(td) for td in august.xpath("td")][1:4] == ["97,67%", "99,44%", "24,27%"]
    assert "Phê bình" in text(tree.xpath("//section[@id='unit-decisions']")[0])
    letters = text(tree.xpath("//section[@id='unit-letters']")[0])
    assert "01/UBND-NV" in letters and REFUSED_MAILBOX in letters and "lỗi" in letters


def test_the_overview_says_where_the_letter_stands_and_what_to_do(client):
    tree, _ = page(client, "/cchc/")
    state = tree.xpath("//*[@id='letter-state']")[0]
    assert state.get("data-state") == "partly_sent"
    assert text(state) == "Gửi chưa đủ — số 01/UBND-NV, ngày 01/09/2023"
    totals = {
        row.get("data-metric"): [text(td) for td in row.xpath("td")]
        for row in tree.xpath("//section[@id='totals']//tr[@data-metric]")
    }
    assert totals["receipt"][1:] == ["97,67%", "97,13%", "tăng 0,54%"]
    assert totals["result"][1:] == ["99,05%", "98,81%", "tăng 0,24%"]
    assert totals["payment"][1:] == ["80,2%", "50,34%", "tăng 29,86%"]
    sections = {
        r.get("data-section"): text(r) for r in tree.xpath("//section[@id='sections']//tr[@data-section]")
    }
    assert sections["3"].startswith("3 Phê bình lần thứ hai") and sections["3"].endswith("2")
    counts = {
        s.get("data-count"): text(s) for s in tree.xpath("//section[@id='delivery-counts']//*[@data-count]")
    }
    assert (
        counts["sent"] == "đã gửi: 37" and counts["failed"] == "lỗi: 1" and counts["unknown"] == "không rõ: 0"
    )
    resend = text(tree.xpath("//*[@id='todo-resend']")[0])
    assert "X-HD" in resend and '"resend": ["X-HD"]' in resend and "Gửi lại" in resend
    assert not tree.xpath("//*[@id='todo-approve']")
    validation = tree.xpath("//section[@id='validation']")[0]
    assert "Đạt" in text(validation)
    warnings = validation.xpath(".//tr[@data-level='warning']")
    assert len(warnings) == 3 and "X-CL" in text(warnings[0]) and "fee_dossiers" in text(warnings[0])
    pdf = tree.xpath("//a[@id='file-letter-pdf']/@href")[0]
    assert client.get(pdf).content.startswith(b"%PDF")


def test_the_deliveries_list_every_recipient_with_the_servers_answer(client):
    tree, _ = page(client, "/cchc/deliveries")
    rows = tree.xpath("//table[@id='deliveries']//tr[@data-recipient]")
    assert len(rows) == 38
    failed = tree.xpath(f"//table[@id='deliveries']//tr[@data-recipient='{REFUSED_MAILBOX}']")[0]
    assert failed.get("data-state") == "failed"
    assert "550 5.1.1 Mailbox unavailable" in text(failed)
    assert "@cchc." in text(failed)  # its Message-ID
    assert all(r.get("data-state") == "sent" for r in rows if r is not failed)
    # The recipients' plan is read (units without an email, refused domains), not an error in its place.
    assert not tree.xpath("//*[@id='problems-error']"), text(tree.xpath("//*[@id='problems-error']")[0])


def test_the_files_are_those_of_the_issued_letter_and_the_period(client, ui_month):
    from cchc.core.paths import PeriodFolder

    tree, _ = page(client, "/cchc/files")
    links = {a.get("id"): a.get("href") for a in tree.xpath("//ul[@id='files']//a")}
    assert {
        "file-letter-pdf",
        "file-letter-docx",
        "file-annex-chart",
        "file-decisions",
        "file-manifest",
    } <= set(links)
    folder = PeriodFolder(ui_month.out, AUTHORITY, PERIOD)
    issued = folder.letter_dir(1)
    assert client.get(links["file-letter-pdf"]).content == (issued / "letter.pdf").read_bytes()
    docx = client.get(links["file-letter-docx"])
    assert docx.content == (issued / "letter.docx").read_bytes()
    assert 'filename="cong-van-tu-ky-2023-08.docx"' in docx.headers["content-disposition"]
    assert client.get(links["file-decisions"]).json()["period"] == PERIOD
    assert (
        b'"sha256"' in client.get(links["file-manifest"]).content
        or client.get(links["file-manifest"]).status_code == 200
    )
    docs = client.get(links["file-data-docs"])
    assert docs.status_code == 200 and "text/html" in docs.headers["content-type"]
    # The Data Docs' own relative links resolve under the same period.
    nested = next(p for p in sorted(Path(folder.validation_dir).rglob("*.html")) if p.name != "index.html")
    relative = nested.relative_to(folder.validation_dir).as_posix()
    assert client.get(f"/cchc/datadocs/{AUTHORITY}/{PERIOD}/{relative}").status_code == 200


def test_a_run_link_opens_the_page_and_refuses_what_is_not_ours(client):
    response = client.get(
        "/cchc/run", params={"dag_id": "some_other_dag", "run_id": "x"}, follow_redirects=False
    )
    assert response.status_code == 404
    response = client.get(
        "/cchc/run", params={"dag_id": "cchc_letters", "run_id": "no-such-run"}, follow_redirects=False
    )
    assert response.status_code == 404
