"""Validation of the extracted table of a period with Great Expectations Core 1.x.

Cheap to import: pandas and GX are imported only when a validation runs or a table is read.
"""

from cchc.quality.report import (
    CRITICAL,
    WARNING,
    Failure,
    ValidationFailed,
    ValidationInputError,
    ValidationReport,
)
from cchc.quality.suites import suite_name
from cchc.quality.validate import validate_extract, validated_frame, validation_dir

__all__ = [
    "CRITICAL",
    "WARNING",
    "Failure",
    "ValidationFailed",
    "ValidationInputError",
    "ValidationReport",
    "suite_name",
    "validate_extract",
    "validated_frame",
    "validation_dir",
]
