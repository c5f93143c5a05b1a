"""lightly_min: small, readable building blocks for self-supervised learning.

Public names, import paths and defaults follow the ``lightly`` package, so code written for one
runs on the other after changing the import.
"""

__version__ = "0.1.0"
