"""Labels: the labeling-file format, labeled pairs, and each transform's label store.

A labeling file answers "which of these rows match?" set by set; the store keeps the answers as
labeled record pairs, the form that training and "newest answer wins" need. Nothing here knows
about Spark or HTTP: the import and export jobs (glue_labeling.tasks) do the Spark side, the
service reads the store's summary for GetMLTransform.
"""
