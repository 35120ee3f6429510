"""The labeling-set generation pipeline: load -> normalize -> block -> score -> cluster ->
sample -> write, each a small function from DataFrame to DataFrame in its own module.

Internal columns carry the `_gl_` prefix so they can never collide with a user's column.
"""

RECORD_ID = "_gl_id"  # a deterministic 64-bit id per input record (hash of source and key)
SOURCE = "_gl_source"  # index of the input table: 0 for dedup, 0/1 for linkage
