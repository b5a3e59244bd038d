"""Validation of the extracted table of a period with Great Expectations Core 1.x.

Modules: ``suites`` (the expectations), ``validate`` (running them, Data Docs, the typed table for
the warehouse), ``result`` (what a run found). Cheap to import: pandas and GX are imported only when
a validation runs or a table is read.
"""
