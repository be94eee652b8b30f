"""synthgov.tasks (the folder tasks/): thin Prefect tasks over the pure stage cores.

`stages` holds one task per stage (load inputs, call the core, save outputs atomically, log to
MLflow); `run` opens, records and closes a pipeline run. `synthgov stage NAME` calls the same
functions for dvc.yaml. Tasks may import every synthgov subpackage; nothing imports tasks but
the flows and the CLI.
"""
