"""Utilities: distributed helpers (:mod:`.dist`), kNN evaluation (:mod:`.benchmarking`) and
progress bars (:mod:`.progress`)."""

from lightly_min.utils.progress import progress_bar

__all__ = ["progress_bar"]
