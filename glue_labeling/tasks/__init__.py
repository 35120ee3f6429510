"""The Spark work of the label task runs: IMPORT_LABELS and EXPORT_LABELS. Each module has one
`*_task` function with run_task's TaskWork signature (glue_labeling.pipeline.run); the job
scripts dispatch to it by task type (glue_labeling.job)."""
