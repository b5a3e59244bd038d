"""The portal tests' config folder (two authorities, one sharing a unit code) and the OpenAPI spec
as the judge of every request and answer."""

from __future__ import annotations

import csv
import json
from pathlib import Path
from typing import Any

import requests
import yaml
from jsonschema import Draft202012Validator
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012

from cchc.core.authorities import Unit
from cchc.core.fields import COUNT_FIELDS
from cchc.portal.simulator import SPEC_PATH

from .authorities import authority_document, write_config

ROOT = "HD-DEMO"  # the portal's root department of ``demo``
OTHER_ROOT = "HD-OTHER"
UNITS = [
    ("P-A", "Phòng Tài chính - Kế hoạch huyện", "department", "Trưởng phòng"),
    ("X-B", "UBND xã Hà Kỳ", "commune", "Chủ tịch UBND xã"),
    ("X-C", "UBND xã Tân Kỳ", "commune", "Chủ tịch UBND xã"),
]
MONTHLY_HEADER = ("period", "unit_code", *COUNT_FIELDS, "official_email_regular")
# X-C has no row in June 2023: the portal must leave it out of Q2, not report zeros.
MONTHLY_ROWS = [
    ("2022-12", "P-A", 10, 10, 9, 9, 2, 1, 4, "true"),
    ("2022-12", "X-B", 20, 18, 19, 17, 6, 2, 3, "false"),
    ("2022-12", "X-C", 30, 25, 28, 20, 8, 3, 5, ""),
    ("2023-06", "P-A", 11, 11, 10, 10, 3, 1, 4, "true"),
    ("2023-06", "X-B", 21, 20, 20, 19, 7, 2, 2, ""),
    ("2023-07", "P-A", 12, 12, 11, 11, 4, 2, 5, "true"),
    ("2023-07", "X-B", 22, 21, 21, 20, 8, 3, 1, "true"),
    ("2023-07", "X-C", 32, 30, 31, 29, 9, 4, 6, "false"),
    ("2023-08", "P-A", 13, 13, 12, 12, 5, 2, 4, "true"),
    ("2023-08", "X-B", 43, 42, 41, 41, 10, 5, 0, ""),
    ("2023-08", "X-C", 33, 29, 30, 27, 12, 3, 7, "true"),
]


def record(row: tuple) -> dict[str, Any]:
    """A MONTHLY_ROWS tuple as load_monthly returns it."""
    out: dict[str, Any] = dict(zip(MONTHLY_HEADER, row, strict=True))
    out["official_email_regular"] = {"true": True, "false": False, "": None}[row[-1]]
    return out


def write_portal_authority(
    folder: Path, aid: str, name: str, root: str, units: list[tuple], monthly: list[tuple]
) -> None:
    """authority.yaml, units.csv (``units``: code, name, kind, head title) and monthly.csv of one district."""
    emails = [
        Unit(code, unit_name, kind, head, f"{code.lower()}@example.gov.vn")
        for code, unit_name, kind, head in units
    ]
    write_config(folder, authority_document(aid, name, root), emails)
    with (folder / "monthly.csv").open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(MONTHLY_HEADER)
        writer.writerows(monthly)


def write_portal_config(root: Path) -> Path:
    """The config dir of the portal tests: ``demo`` (UNITS, MONTHLY_ROWS) and ``other``."""
    write_portal_authority(root / "demo", "demo", "huyện Thử Nghiệm", ROOT, UNITS, MONTHLY_ROWS)
    # A second authority whose only unit shares the code X-B: the CMS call must ask which one.
    write_portal_authority(
        root / "other",
        "other",
        "huyện Bên Cạnh",
        OTHER_ROOT,
        [("X-B", "UBND xã Bên Cạnh", "commune", "Chủ tịch UBND xã")],
        [("2023-08", "X-B", 5, 5, 5, 5, 1, 1, 9, "true")],
    )
    return root


SPEC_URI = "urn:cchc:portal-openapi"


def _escape(token: str) -> str:
    return token.replace("~", "~0").replace("/", "~1")


class Spec:
    """openapi.yaml as the judge: request bodies and responses are validated against its schemas."""

    def __init__(self) -> None:
        self.doc = yaml.safe_load(SPEC_PATH.read_text(encoding="utf-8"))
        resource = Resource.from_contents(self.doc, default_specification=DRAFT202012)
        self.registry = Registry().with_resource(SPEC_URI, resource)

    def _at(self, pointer: str) -> Any:
        node: Any = self.doc
        for token in pointer.lstrip("/").split("/"):
            node = node[token.replace("~1", "/").replace("~0", "~")]
        return node

    def _follow(self, pointer: str) -> str:
        """The pointer of the object at ``pointer`` once its OpenAPI ``$ref`` chain is followed."""
        while isinstance(self._at(pointer), dict) and "$ref" in self._at(pointer):
            pointer = self._at(pointer)["$ref"].removeprefix("#")
        return pointer

    def validator(self, pointer: str) -> Draft202012Validator:
        return Draft202012Validator({"$ref": f"{SPEC_URI}#{pointer}"}, registry=self.registry)

    def operations(self) -> set[tuple[str, str]]:
        return {(path, method.upper()) for path, item in self.doc["paths"].items() for method in item}

    def documented_statuses(self) -> set[tuple[str, str, int]]:
        return {
            (path, method.upper(), int(status))
            for path, item in self.doc["paths"].items()
            for method, operation in item.items()
            for status in operation["responses"]
        }

    def request_errors(self, path: str, body: Any, media: str = "application/json") -> list[str]:
        pointer = self._follow(f"/paths/{_escape(path)}/post/requestBody")
        schema_pointer = f"{pointer}/content/{_escape(media)}/schema"
        return [error.message for error in self.validator(schema_pointer).iter_errors(body)]

    def check_response(self, method: str, path: str, response: requests.Response) -> None:
        """Fail unless the status is documented for the operation and headers and body match it."""
        operation = f"/paths/{_escape(path)}/{method.lower()}"
        responses = self._at(operation)["responses"]
        assert str(response.status_code) in responses, (
            f"{method} {path}: status {response.status_code} not in spec"
        )
        pointer = self._follow(f"{operation}/responses/{response.status_code}")
        documented = self._at(pointer)
        for name, header in documented.get("headers", {}).items():
            header = self._at(self._follow(f"{pointer}/headers/{_escape(name)}"))
            if header.get("required"):
                assert name in response.headers, (
                    f"{method} {path} {response.status_code}: header {name} missing"
                )
                if header["schema"].get("type") == "integer":
                    assert int(response.headers[name]) >= header["schema"].get("minimum", 0)
        media = response.headers["Content-Type"].split(";")[0].strip()
        assert media in documented["content"], f"{method} {path} {response.status_code}: {media} not in spec"
        instance = response.json() if media == "application/json" else response.text
        schema_pointer = f"{pointer}/content/{_escape(media)}/schema"
        errors = [
            f"{list(e.absolute_path)}: {e.message}"
            for e in self.validator(schema_pointer).iter_errors(instance)
        ]
        assert not errors, (
            f"{method} {path} {response.status_code} {json.dumps(instance, ensure_ascii=False)}: {errors}"
        )
