"""The "Báo cáo CCHC" page in the Airflow UI: what it shows (``data``), who sees what (``access``),
its FastAPI app (``app``) and the way from a DAG run or task to it (``runs``)."""
