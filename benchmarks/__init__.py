"""The informix-aio benchmark suite (``make bench`` / ``python -m benchmarks.run``).

Benchmarks are not tests: every alternative is measured in the same run, alternately and in
several rounds, and a missed target is reported as ``MISSED``, never as a failure.

- :mod:`benchmarks.run`        entry point: starts a private PostgreSQL, runs the scenarios
- :mod:`benchmarks.harness`    rounds, statistics, targets, the shared context
- :mod:`benchmarks.scenarios`  one module per scenario
- :mod:`benchmarks.apps`       the FastAPI apps of the end-to-end scenario
- :mod:`benchmarks.loadgen`    a small HTTP load generator, used when ``wrk`` is missing
- :mod:`benchmarks.report`     Markdown, JSON and PNG output in ``benchmarks/results/``
"""
