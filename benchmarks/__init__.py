"""Benchmarks of the code lightly_min ships: the tutorials (learning), the example scripts
(speed, against the same scripts built from lightly) and the SimSiam training step (roofline).

Run ``python -m benchmarks`` (or ``nox -s bench``); README.md explains every figure.
"""
