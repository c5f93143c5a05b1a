"""lightly's utilities: distributed helpers (:mod:`.dist`), the collapse monitor
(:mod:`.debug`), schedules (:mod:`.scheduler`) and kNN prediction (:mod:`.benchmarking`)."""
