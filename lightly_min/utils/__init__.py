"""lightly's utilities: distributed helpers (:mod:`.dist`), the collapse monitor
(:mod:`.debug`), schedules (:mod:`.scheduler`), the LARS optimiser (:mod:`.lars`) and kNN
prediction (:mod:`.benchmarking`)."""
