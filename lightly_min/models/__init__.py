"""Model building blocks. Heads live in :mod:`lightly_min.models.modules`."""
