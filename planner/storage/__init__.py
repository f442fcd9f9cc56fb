"""Storage: durable, crash-safe state on disk, shared by scoring and validation.

The append-only score cache with per-line checksums (:mod:`.cache`), the forward-output store of
model outputs per (model, dataset) (:mod:`.output_store`) and row reads of array files
(:mod:`.row_reads`). Every file is written atomically or appended with fsync, so an interrupted run
resumes where it stopped.
"""
