"""cchc: monthly administrative-reform (cải cách hành chính) letters as an Airflow pipeline.

The package holds all the logic; the DAG files under dags/ only wire its functions into tasks.
"""

__version__ = "0.1.0"
