"""The pipeline: the bodies of the DAGs' tasks and what runs them without a scheduler.

Modules: ``payloads`` (what each task receives and returns), ``tasks`` (the task bodies: calls into
the stages), ``dags`` (the pieces both DAG files share), ``connections`` (Airflow connections looked
up at run time), ``localrun`` (``make run``).
"""
