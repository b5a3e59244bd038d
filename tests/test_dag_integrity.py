"""DAG integrity: every DAG file imports, cheaply, without the database or secrets, and follows policy."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from support.paths import ROOT

DAG_FILES = sorted((ROOT / "dags").glob("*.py"))
EXPECTED_DAGS = {"cchc_monthly", "cchc_letters", "cchc_deadlines"}
# The DAGs an operator runs for a month by hand (the deadline check's "today" is its logical date).
PERIOD_DAGS = {"cchc_monthly", "cchc_letters"}
# Tasks that must not retry: a human decision, and a report whose retry would only mail it again.
NO_RETRY = {("cchc_letters", "authority.approve"), ("cchc_letters", "authority.report")}

# Parses the DAG folder in a fresh interpreter whose metadata database does not exist and cannot be
# created, with no connection or variable in the environment: a DB query, a connection lookup or a
# variable lookup at parse time becomes an import error. It also reports which heavy modules the
# parse pulled in.
PARSE_SCRIPT = r"""
import json, sys
from airflow.dag_processing.dagbag import DagBag
bag = DagBag(dag_folder=sys.argv[1])
heavy = sorted(m for m in ("great_expectations", "pandas", "docxtpl", "matplotlib", "cchc.portal.client") if m in sys.modules)
print(json.dumps({
    "errors": {k: str(v) for k, v in bag.import_errors.items()},
    "dags": {
        dag_id: {
            "fileloc": dag.fileloc,
            "tags": sorted(dag.tags),
            "doc_md": bool(dag.doc_md and len(dag.doc_md) > 80),
            "params": {k: {"title": dag.params.get_param(k).schema.get("title"),
                           "description": dag.params.get_param(k).description}
                       for k in dag.params.keys()},
            "tasks": {t.task_id: {"owner": t.owner, "retries": t.retries,
                                  "alerts": bool(t.on_failure_callback),
                                  "display_name": t.task_display_name, "doc_md": t.doc_md or ""}
                      for t in dag.tasks},
        }
        for dag_id, dag in bag.dags.items()
    },
    "heavy": heavy,
}))
"""


@pytest.fixture(scope="module")
def parsed(tmp_path_factory):
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AIRFLOW_CONN_", "AIRFLOW_VAR_"))}
    env["AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"] = "sqlite:////nonexistent-cchc-dir/airflow.db"
    env["AIRFLOW_HOME"] = str(tmp_path_factory.mktemp("airflow-parse"))
    env.pop("CCHC_CONFIG_DIR", None)  # the config is read when tasks run, never at parse time
    out = subprocess.run(
        [sys.executable, "-c", PARSE_SCRIPT, str(ROOT / "dags")],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert out.returncode == 0, out.stderr[-3000:]
    return json.loads(out.stdout.strip().splitlines()[-1])


@pytest.mark.airflow  # parses the DAG folder in a fresh interpreter (``parsed``)
def test_no_import_errors(parsed):
    assert parsed["errors"] == {}


@pytest.mark.airflow  # parses the DAG folder in a fresh interpreter (``parsed``)
def test_expected_dags_one_per_file(parsed):
    assert EXPECTED_DAGS <= set(parsed["dags"])
    for dag_id, dag in parsed["dags"].items():
        assert Path(dag["fileloc"]).stem == dag_id, "one DAG per file, named after its dag_id"
    assert {p.stem for p in DAG_FILES} == set(parsed["dags"])


@pytest.mark.airflow  # parses the DAG folder in a fresh interpreter (``parsed``)
def test_policy_tags_owner_retries_docs(parsed):
    for dag_id, dag in parsed["dags"].items():
        assert "cchc" in dag["tags"], dag_id
        assert dag["doc_md"], f"{dag_id}: doc_md (the module docstring) is missing"
        if dag_id in PERIOD_DAGS:
            assert "period" in dag["params"], f"{dag_id}: a manual run needs the 'period' param"
        for task_id, task in dag["tasks"].items():
            assert task["owner"] == "cchc", (dag_id, task_id)
            assert task["retries"] >= 1 or (dag_id, task_id) in NO_RETRY, (dag_id, task_id)
            assert task["alerts"], f"{dag_id}.{task_id}: no on_failure_callback (operators get no alert)"


# What an operator reads is Vietnamese: a letter Latin script lacks, in every display name and doc.
VIETNAMESE = set("ăâđêôơưáàảãạấầẩẫậắằẳẵặéèẻẽẹếềểễệíìỉĩịóòỏõọốồổỗộớờởỡợúùủũụứừửữựýỳỷỹỵ")


def vietnamese(text: str | None) -> bool:
    return bool(text) and bool(set(text.lower()) & VIETNAMESE)


@pytest.mark.airflow  # parses the DAG folder in a fresh interpreter (``parsed``)
def test_every_task_has_a_vietnamese_name_and_doc(parsed):
    """The grid and graph show each task's Vietnamese name; its page says what it does and what to do
    when it fails. The task ids stay English (tests, alerts, the README name them)."""
    for dag_id, dag in parsed["dags"].items():
        names = {}
        for task_id, task in dag["tasks"].items():
            short = task_id.rsplit(".", 1)[-1]
            assert task["display_name"] != task_id and vietnamese(task["display_name"]), (dag_id, task_id)
            assert vietnamese(task["doc_md"]) and len(task["doc_md"]) > 80, (dag_id, task_id)
            assert "Khi" in task["doc_md"], f"{dag_id}.{task_id}: doc_md says nothing of a failure"
            assert short.isascii(), (dag_id, task_id)
            names[task["display_name"]] = task_id
        assert len(names) == len(dag["tasks"]), f"{dag_id}: two tasks share a display name"
    stages = {t["display_name"] for d in parsed["dags"].values() for t in d["tasks"].values()}
    assert {
        "Trích xuất",
        "Kiểm tra dữ liệu",
        "Nạp kho",
        "Tính tỷ lệ",
        "Đánh giá",
        "Soạn công văn",
        "Duyệt",
        "Cấp số",
        "Phát hành",
    } <= stages


@pytest.mark.airflow  # parses the DAG folder in a fresh interpreter (``parsed``)
def test_every_param_has_a_vietnamese_title_and_description(parsed):
    for dag_id, dag in parsed["dags"].items():
        for name, schema in dag["params"].items():
            assert vietnamese(schema["title"]), (dag_id, name, schema)
            assert vietnamese(schema["description"]), (dag_id, name, schema)


@pytest.mark.airflow  # parses the DAG folder in a fresh interpreter (``parsed``)
def test_parse_does_not_import_heavy_modules(parsed):
    assert parsed["heavy"] == []


# The modules of the package a DAG file may import at parse time: the pieces the DAGs share (defaults,
# alert callback, params, the tasks' Vietnamese names and docs) and the letter's approval operator,
# light by design
# (test_parse_does_not_import_heavy_modules).
DAG_MODULES = ("cchc.pipeline.dag_defaults", "cchc.pipeline.approval", "cchc.pipeline.stages")


def test_dag_files_only_wire():
    """DAG files hold no logic: they import cchc inside tasks and never read the clock."""
    for path in DAG_FILES:
        text = path.read_text(encoding="utf-8")
        assert "datetime.now" not in text and "utcnow" not in text and "date.today" not in text, path.name
        module_level = [line for line in text.splitlines() if line.startswith(("import cchc", "from cchc"))]
        assert all(
            line.startswith(tuple(f"from {m} import" for m in DAG_MODULES)) for line in module_level
        ), f"{path.name}: import cchc inside tasks"
