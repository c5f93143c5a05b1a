"""The examples' harness: what every example needs around its method, written once.

:func:`~lightly_min.harness.cli.parse_args` (the shared flags and their validation) and
:class:`~lightly_min.harness.run.Run` (data, device, precision, progress, atomic checkpoints
and ``--resume``, the run record ``metrics.jsonl``, and the held-out evaluation after saving
the weights). The Lightning examples add the callbacks of :mod:`lightly_min.harness.lightning`.
Not part of lightly's API.
"""

from lightly_min.harness.cli import parse_args
from lightly_min.harness.run import Run

__all__ = ["Run", "parse_args"]
