"""Release and governance: the gate verdict, the release store, lineage and MLflow tracking.

- `gate`: one verdict over every stage's check results (and the privacy check of the training);
- `promote`: the release store (releases/<id>/ with a CURRENT pointer, quarantine/<run_id>/);
- `lineage`: the git commit of the code and DVC's md5 of the artifacts, DVC commits;
- `tracking`: one MLflow parent run per pipeline run, one nested run per stage, the registry.

The package may import synthgov.checks, synthgov.params, synthgov.atomic and synthgov.errors.
"""
