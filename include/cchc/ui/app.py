"""The FastAPI app of the "Báo cáo CCHC" page, mounted by plugins/cchc_reports.py at ``/cchc``.

Airflow mounts a plugin's app beside its API without authenticating it, so the app itself requires a
user on every route: an app-wide dependency resolves the user from the UI's JWT (the ``_token``
cookie or a Bearer header) through Airflow's auth manager, requires read access to the letters DAG,
and works out which authorities the user may see (``cchc.ui.access``). A route that names an
authority the user may not see answers 403, its files included.

Everything Airflow is imported inside ``create_app``: this module imports without a running server.
"""

# No ``from __future__ import annotations``: FastAPI reads the routes' annotations, and they name
# objects imported inside ``create_app``.
import csv
import io
import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any
from urllib.parse import urlencode

from cchc.core import settings
from cchc.core.errors import CchcError
from cchc.core.periods import Period
from cchc.ui import data
from cchc.ui.access import Access


@dataclass(frozen=True)
class TableQuery:
    """The units table's filter and order (query params), shared by the page and its two exports."""

    kind: str | None = None
    section: str | None = None
    sort: str = "position"
    order: str = "asc"

    def rows(self, doc: dict[str, Any]) -> list[dict[str, Any]]:
        return data.unit_rows(
            doc,
            kind=self.kind or None,
            section=self.section or None,
            sort=self.sort,
            descending=self.order == "desc",
        )


if TYPE_CHECKING:
    from fastapi import FastAPI
    from sqlalchemy.engine import Engine

TEMPLATES = Path(__file__).with_name("templates")
URL_PREFIX = "/cchc"
DAG_FOR_ACCESS = data.LETTERS_DAG


def default_place() -> data.Place:
    current = settings.current()
    return data.Place(config_dir=current.config_dir, output_dir=current.output_dir)


def default_warehouse_url() -> str:
    """The warehouse the tasks use: the ``cchc_warehouse`` connection (read the server's way), else
    ``CCHC_WAREHOUSE_URL`` or the embedded SQLite file under the output folder."""
    from cchc.core.db import url_from_env, warehouse_url_from_connection

    current = settings.current()
    if current.warehouse_url:
        return current.warehouse_url
    try:
        from airflow.models.connection import Connection

        return warehouse_url_from_connection(
            Connection.get_connection_from_secrets(settings.WAREHOUSE_CONN_ID)
        )
    except Exception:  # noqa: BLE001 - no such connection: the embedded warehouse
        return url_from_env(current.output_dir)


def user_access(user: Any) -> Access:
    from cchc.ui.access import for_user

    return for_user(user)


def _environment():
    from jinja2 import Environment, FileSystemLoader, select_autoescape

    env = Environment(
        loader=FileSystemLoader(str(TEMPLATES)),
        autoescape=select_autoescape(("html",), default_for_string=True, default=True),
        trim_blocks=True,
        lstrip_blocks=True,
    )
    return env


def create_app(
    place: Callable[[], data.Place] = default_place, warehouse_url: Callable[[], str] = default_warehouse_url
) -> "FastAPI":
    """The app; ``place`` and ``warehouse_url`` are read per request (a test or an operator may
    change the settings while the API server runs)."""
    from airflow.api_fastapi.app import get_auth_manager
    from airflow.api_fastapi.auth.managers.models.resource_details import DagDetails
    from airflow.api_fastapi.core_api.security import GetUserDep
    from fastapi import Depends, FastAPI, HTTPException, Request
    from fastapi.responses import FileResponse, HTMLResponse, RedirectResponse, Response

    env = _environment()

    def require_user(request: Request, user: GetUserDep) -> Access:
        """401 without a valid token (Airflow's own answer), 403 without read access to the letters DAG."""
        allowed = get_auth_manager().is_authorized_dag(
            method="GET", details=DagDetails(id=DAG_FOR_ACCESS), user=user
        )
        if not allowed:
            raise HTTPException(status_code=403, detail="Không có quyền xem công văn CCHC")
        access = user_access(user)
        request.state.cchc_access = access
        request.state.cchc_user = user.get_name()
        return access

    app = FastAPI(
        title="Báo cáo CCHC",
        dependencies=[Depends(require_user)],
        docs_url=None,
        redoc_url=None,
        openapi_url=None,
    )

    # ------------------------------------------------------------------ context of a page

    class Ctx:
        """The authority and period a request is about, checked against the user's access."""

        def __init__(self, request: Request, authority: str | None, period: str | None) -> None:
            self.request = request
            self.access: Access = request.state.cchc_access
            self.place = place()
            try:
                known = self.place.authority_ids()
            except CchcError as exc:
                raise HTTPException(status_code=500, detail=str(exc)) from exc
            self.visible = self.access.visible(known)
            if authority:
                if authority not in known:
                    raise HTTPException(status_code=404, detail="Không có cơ quan này")
                if not self.access.allows(authority):
                    raise HTTPException(status_code=403, detail="Không có quyền xem cơ quan này")
                self.authority_id = authority
            elif self.visible:
                self.authority_id = _first_with_letter(self.visible, warehouse_url) or self.visible[0]
            else:
                raise HTTPException(status_code=403, detail="Tài khoản chưa được giao cơ quan nào")
            self.authority = self.place.authority(self.authority_id)
            from cchc.core.db import engine_for

            self.engine: Engine = engine_for(warehouse_url())
            try:
                self.periods = data.periods(self.engine, self.authority_id)
            except Exception:  # noqa: BLE001 - an empty or absent warehouse: a page that says so
                self.periods = []
            if period:
                try:
                    self.period = str(Period.parse(period))
                except (CchcError, ValueError) as exc:
                    raise HTTPException(status_code=400, detail="Kỳ báo cáo phải có dạng YYYY-MM") from exc
            else:
                self.period = (
                    data.latest_letter_period(self.engine, self.authority_id) if self.periods else None
                ) or ""
            self.root = request.scope.get("root_path", "").rstrip("/")

        def close(self) -> None:
            self.engine.dispose()

        def query(self, **extra: Any) -> str:
            params = {"authority": self.authority_id, "period": self.period}
            params.update({k: v for k, v in extra.items() if v not in (None, "")})
            return urlencode(params)

        def url(self, path: str, **extra: Any) -> str:
            return f"{self.root}{path}?{self.query(**extra)}"

        def data_docs(self, path: str = "index.html") -> str:
            return f"{self.root}/datadocs/{self.authority_id}/{self.period}/{path}"

        def folder(self) -> Any:
            return self.place.folder(self.authority_id, self.period)

        def render(self, template: str, active: str, **values: Any) -> HTMLResponse:
            names = {a: a for a in self.visible}
            for a in self.visible:
                try:
                    names[a] = self.place.authority(a).name
                except CchcError:
                    pass
            page = env.get_template(template).render(
                ctx=self,
                active=active,
                authority_names=names,
                user=self.request.state.cchc_user,
                airflow=self.root[: -len(URL_PREFIX)] if self.root.endswith(URL_PREFIX) else "",
                **values,
            )
            return HTMLResponse(page)

    def context(request: Request, authority: str | None = None, period: str | None = None):
        ctx = Ctx(request, authority, period)
        try:
            yield ctx
        finally:
            ctx.close()

    CtxDep = Annotated[Ctx, Depends(context)]
    TableDep = Annotated[TableQuery, Depends()]

    def letters_of(ctx: Ctx) -> tuple[list[dict[str, Any]], dict[str, Any] | None]:
        if not ctx.period:
            return [], None
        found = data.period_letters(ctx.engine, ctx.authority, ctx.period)
        return found, data.main_letter(found)

    def doc_of(ctx: Ctx) -> dict[str, Any] | None:
        if not ctx.period:
            return None
        try:
            return data.document(ctx.engine, ctx.authority_id, ctx.period)
        except Exception:  # noqa: BLE001 - not migrated yet
            return None

    # ------------------------------------------------------------------ pages

    @app.get("/", response_class=HTMLResponse, name="overview")
    def overview(ctx: CtxDep) -> HTMLResponse:
        all_letters, main = letters_of(ctx)
        doc = doc_of(ctx)
        rows = data.delivery_rows(ctx.engine, int(main["letter_id"])) if main else []
        counts = data.delivery_counts(rows)
        folder = ctx.folder() if ctx.period else None
        checked = data.validation(folder) if folder else None
        revision = data.revision_report(folder, int(main["letter_id"]) if main else None) if folder else None
        todo = _todo(ctx, main, rows, checked, revision)
        files = data.artefacts(ctx.place, main, ctx.authority_id, ctx.period) if ctx.period else {}
        return ctx.render(
            "overview.html",
            "overview",
            letters=all_letters,
            main=main,
            doc=doc,
            totals=data.totals_of(doc) if doc else [],
            sections=data.sections_of(doc) if doc else [],
            counts=counts,
            count_labels={
                "sent": "đã gửi",
                "failed": "lỗi",
                "unknown": "không rõ",
                "pending": "chờ gửi",
                "in_progress": "đang gửi",
            },
            validation=checked,
            revision=revision,
            todo=todo,
            airflow_links=_airflow_links(ctx),
            files=files,
        )

    def _airflow_links(ctx: Ctx) -> list[dict[str, str]]:
        """Airflow's own screens where the operator acts: the two DAGs (trigger, runs) and the approvals."""
        airflow = ctx.root[: -len(URL_PREFIX)] if ctx.root.endswith(URL_PREFIX) else ""
        return [
            {
                "id": "airflow-monthly",
                "href": f"{airflow}/dags/{data.MONTHLY_DAG}",
                "label": "cchc_monthly (số liệu)",
            },
            {
                "id": "airflow-letters",
                "href": f"{airflow}/dags/{data.LETTERS_DAG}",
                "label": "cchc_letters (công văn)",
            },
            {
                "id": "airflow-approvals",
                "href": f"{airflow}/required_actions",
                "label": "Required Actions (duyệt)",
            },
        ]

    def _todo(
        ctx: Ctx,
        main: dict[str, Any] | None,
        rows: list[dict[str, Any]],
        checked: dict[str, Any] | None,
        revision: dict[str, Any] | None,
    ) -> list[dict[str, Any]]:
        """What needs the operator now, each with where to do it in Airflow and what it will do."""
        airflow = ctx.root[: -len(URL_PREFIX)] if ctx.root.endswith(URL_PREFIX) else ""
        dag_url = f"{airflow}/dags/{data.LETTERS_DAG}"
        base = {"period": ctx.period, "authorities": [ctx.authority_id]}
        out = []
        if main and main["state"] == "waiting":
            run = main.get("run_id")
            href = (
                f"{airflow}/dags/{data.LETTERS_DAG}/runs/{run}/required_actions"
                if run
                else f"{airflow}/required_actions"
            )
            out.append(
                {
                    "id": "todo-approve",
                    "title": "Công văn đang chờ duyệt",
                    "href": href,
                    "link": "Mở Required Actions của Airflow",
                    "does": "Duyệt thì hệ thống cấp số và gửi công văn tới mọi nơi nhận; từ chối (hoặc hết "
                    "thời hạn duyệt) thì không gửi thư nào. Muốn xem trước: chạy cchc_letters với "
                    "dry_run (gửi thử tới địa chỉ thử nghiệm, không cấp số).",
                    "conf": json.dumps({**base, "dry_run": True}, ensure_ascii=False),
                }
            )
        problems = [r for r in rows if r["kind"] != "test" and r["state"] in ("failed", "unknown")]
        if problems:
            targets = sorted(
                {c for r in problems for c in (r["unit_codes"] or "").split(",") if c}
                | {r["recipient"] for r in problems if not r["unit_codes"]}
            )
            out.append(
                {
                    "id": "todo-resend",
                    "title": f"{len(problems)} thư gửi lỗi hoặc không rõ kết quả",
                    "href": dag_url,
                    "link": "Chạy cchc_letters (Trigger) với tham số dưới đây",
                    "does": "Gửi lại công văn đã phát hành (cùng số, cùng tệp PDF) cho đúng những người nhận "
                    f"này: {', '.join(targets)}. Ai đã nhận sẽ không nhận lần nữa.",
                    "conf": json.dumps({**base, "resend": targets}, ensure_ascii=False),
                }
            )
        if revision:
            out.append(
                {
                    "id": "todo-reissue",
                    "title": "Số liệu đã thay đổi sau khi công văn phát hành",
                    "href": dag_url,
                    "link": "Chạy cchc_letters (Trigger) với tham số dưới đây",
                    "does": "Phát hành lại: soạn công văn mới thay thế công văn số "
                    f"{revision.get('document_number') or ''}, cấp số mới, ghi rõ thay thế; cần ghi lý do.",
                    "conf": json.dumps(
                        {**base, "reissue": True, "reissue_reason": "Số liệu được Cổng DVC điều chỉnh"},
                        ensure_ascii=False,
                    ),
                    "lines": revision["lines"],
                }
            )
        if checked and not checked["success"]:
            out.append(
                {
                    "id": "todo-validation",
                    "title": "Số liệu không qua kiểm tra: chưa nạp kho, chưa có công văn mới",
                    "href": f"{airflow}/dags/{data.MONTHLY_DAG}",
                    "link": "Chạy lại cchc_monthly (Trigger) sau khi nguồn đã sửa",
                    "does": "Lấy lại số liệu kỳ này từ nguồn, kiểm tra lại; đạt thì nạp kho, tính tỷ lệ, "
                    "đánh giá và soạn công văn.",
                    "conf": json.dumps(base, ensure_ascii=False),
                }
            )
        return out

    @app.get("/units", response_class=HTMLResponse, name="units")
    def units_page(ctx: CtxDep, query: TableDep) -> HTMLResponse:
        doc = doc_of(ctx)
        rows = query.rows(doc) if doc else []
        whole = _whole(ctx, doc)
        return ctx.render(
            "units.html",
            "units",
            doc=doc,
            rows=rows,
            whole=whole,
            kind=query.kind or "",
            section=query.section or "",
            sort=query.sort,
            order=query.order,
            kinds=data.KIND_LABELS,
            sections=data.sections_of(doc) if doc else [],
            columns=data.UNIT_COLUMNS,
            metric_labels=data.METRIC_LABELS,
            window_labels=data.WINDOW_LABELS,
        )

    def _whole(ctx: Ctx, doc: dict[str, Any] | None) -> dict[str, Any] | None:
        if doc is None:
            return None
        try:
            return data.authority_row(ctx.engine, ctx.authority, ctx.period, doc)
        except Exception:  # noqa: BLE001 - rates not computed: the units alone
            return None

    def _table(ctx: Ctx, query: TableQuery) -> tuple[list[str], list[list[Any]]]:
        doc = doc_of(ctx)
        if doc is None:
            raise HTTPException(status_code=404, detail="Kỳ này chưa có quyết định")
        rows = query.rows(doc)
        header = [
            "Mã đơn vị",
            "Tên đơn vị",
            "Loại",
            *(f"{data.METRIC_LABELS[m]} ({data.WINDOW_LABELS[w]})" for m, w in data.UNIT_COLUMNS),
            "Tin bài",
            "Quyết định",
        ]
        whole = _whole(ctx, doc)
        body = [
            [
                r["code"],
                r["name"],
                r["kind_label"],
                *(r["cells"][f"{m}_{w}"]["text"] for m, w in data.UNIT_COLUMNS),
                "" if r["posts"] is None else r["posts"],
                "; ".join(r["decisions"]),
            ]
            for r in ([whole] if whole else []) + rows
        ]
        return header, body

    @app.get("/units.csv", name="units_csv")
    def units_csv(ctx: CtxDep, query: TableDep) -> Response:
        header, body = _table(ctx, query)
        buffer = io.StringIO()
        writer = csv.writer(buffer)
        writer.writerow(header)
        writer.writerows(body)
        name = f"don-vi-{ctx.authority_id}-{ctx.period}.csv"
        return Response(
            ("\ufeff" + buffer.getvalue()).encode("utf-8"),  # a BOM, so Excel reads the diacritics
            media_type="text/csv; charset=utf-8",
            headers={"Content-Disposition": f'attachment; filename="{name}"'},
        )

    @app.get("/units.xlsx", name="units_xlsx")
    def units_xlsx(ctx: CtxDep, query: TableDep) -> Response:
        from openpyxl import Workbook

        header, body = _table(ctx, query)
        book = Workbook()
        sheet = book.active
        sheet.title = f"Đơn vị {ctx.period}"
        sheet.append(header)
        for row in body:
            sheet.append(row)
        out = io.BytesIO()
        book.save(out)
        name = f"don-vi-{ctx.authority_id}-{ctx.period}.xlsx"
        return Response(
            out.getvalue(),
            media_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
            headers={"Content-Disposition": f'attachment; filename="{name}"'},
        )

    @app.get("/units/{unit_id}", response_class=HTMLResponse, name="trend")
    def trend(unit_id: str, ctx: CtxDep) -> HTMLResponse:
        if not ctx.period:
            raise HTTPException(status_code=404, detail="Chưa có kỳ báo cáo nào")
        found = data.unit_trend(ctx.engine, ctx.authority, unit_id, ctx.period)
        if found is None:
            raise HTTPException(status_code=404, detail="Không có đơn vị này")
        doc = doc_of(ctx) or {}
        return ctx.render(
            "trend.html",
            "units",
            unit=found,
            chart=data.trend_chart(found["series"], doc.get("targets") or {}),
        )

    @app.get("/deliveries", response_class=HTMLResponse, name="deliveries")
    def deliveries_page(ctx: CtxDep) -> HTMLResponse:
        all_letters, main = letters_of(ctx)
        rows = data.delivery_rows(ctx.engine, int(main["letter_id"])) if main else []
        problems = (
            data.distribution_problems(
                ctx.engine, ctx.authority, int(main["letter_id"]), ctx.place.output_dir
            )
            if main
            else {"missing_email": [], "refused": [], "error": None}
        )
        return ctx.render(
            "deliveries.html",
            "deliveries",
            main=main,
            rows=rows,
            counts=data.delivery_counts(rows),
            problems=problems,
        )

    @app.get("/files", response_class=HTMLResponse, name="files")
    def files_page(ctx: CtxDep) -> HTMLResponse:
        _letters, main = letters_of(ctx)
        files = data.artefacts(ctx.place, main, ctx.authority_id, ctx.period) if ctx.period else {}
        docs = data.data_docs_files(ctx.folder()) if ctx.period else {}
        return ctx.render(
            "files.html",
            "files",
            main=main,
            files=files,
            data_docs="index.html" in docs,
            validation=data.validation(ctx.folder()) if ctx.period else None,
        )

    @app.get("/download/{name}", name="download")
    def download(name: str, ctx: CtxDep) -> FileResponse:
        """One of the period's artefacts, by its key in the allow-list (never a path)."""
        _letters, main = letters_of(ctx)
        files = data.artefacts(ctx.place, main, ctx.authority_id, ctx.period) if ctx.period else {}
        artefact = files.get(name)
        if artefact is None:
            raise HTTPException(status_code=404, detail="Không có tệp này trong kỳ báo cáo")
        return FileResponse(artefact.path, media_type=artefact.media_type, filename=artefact.filename)

    @app.get("/datadocs/{authority}/{period}/{path:path}", name="datadocs")
    def datadocs(path: str, ctx: CtxDep) -> FileResponse:
        """A file of the period's Data Docs, looked up among the files the validation folder holds.

        The authority and period are in the path, so the Data Docs' own relative links keep them."""
        if not ctx.period:
            raise HTTPException(status_code=404, detail="Chưa có kỳ báo cáo nào")
        found = data.data_docs_files(ctx.folder()).get(path)
        if found is None:
            raise HTTPException(status_code=404, detail="Không có tệp này trong Data Docs của kỳ")
        return FileResponse(found, media_type=data.media_type(found))

    @app.get("/run", name="run")
    def from_run(request: Request, dag_id: str, run_id: str) -> RedirectResponse:
        """From a DAG run (the external view on the run): the page at that run's authority and period."""
        authority, period = _run_target(request.state.cchc_access, dag_id, run_id)
        root = request.scope.get("root_path", "").rstrip("/")
        query = urlencode({k: v for k, v in (("authority", authority), ("period", period)) if v})
        return RedirectResponse(f"{root}/?{query}", status_code=307)

    def _run_target(access: Access, dag_id: str, run_id: str) -> tuple[str | None, str | None]:
        from cchc.ui.runs import run_target

        try:
            authorities, period = run_target(dag_id, run_id)
        except LookupError as exc:
            raise HTTPException(status_code=404, detail=str(exc)) from exc
        visible = [a for a in authorities if access.allows(a)] if authorities else []
        if authorities and not visible:
            raise HTTPException(status_code=403, detail="Không có quyền xem cơ quan của lần chạy này")
        return (visible[0] if visible else None), period

    return app


def _first_with_letter(authority_ids: list[str], warehouse_url: Callable[[], str]) -> str | None:
    """The first of the authorities that has a letter (the page's default), None when none has."""
    from cchc.core.db import engine_for

    engine = engine_for(warehouse_url())
    try:
        for authority_id in authority_ids:
            if data.has_letter(engine, authority_id):
                return authority_id
    except Exception:  # noqa: BLE001 - an empty warehouse: the first authority
        return None
    finally:
        engine.dispose()
    return None


def page_url(path: str, authority: str | None, period: str | None) -> str:
    """The page's address (for the external views and the task links), e.g. ``/cchc/units?…``."""
    query = urlencode({k: v for k, v in (("authority", authority), ("period", period)) if v})
    return f"{URL_PREFIX}{path}" + (f"?{query}" if query else "")
