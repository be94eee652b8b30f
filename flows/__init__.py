"""synthgov.flows (the folder flows/): the Prefect flows, wiring only.

A flow calls the tasks of synthgov.tasks in order, passes results along and decides whether to
promote; it holds no data logic. It may import synthgov.tasks, synthgov.params and synthgov.errors.
"""
