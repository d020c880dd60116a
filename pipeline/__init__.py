"""The pipeline layer: the stages of a screen and of a twin update, as plain Python.

``run_context`` (a run's folder, tables and store row), ``stages`` (the screen's steps),
``twin_update`` (bringing the twin up to date after an upload), ``report`` (the report's
context), ``resume`` + ``stage_cache`` (content-keyed reuse that wraps stages from
outside), ``filter_fanout`` (the filter stage in chunks), ``screen`` (all stages in order,
no Prefect) and ``config`` (the run configuration composed of every stage's settings).
Imports the kernel and the science packages; never Prefect, ``flows`` or the interfaces.
"""
