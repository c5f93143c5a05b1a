"""Placeholder: the benchmark-results directive is added with the benchmarks page."""


def setup(app):
    return {"parallel_read_safe": True, "parallel_write_safe": True}
