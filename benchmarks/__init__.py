"""kling_async's benchmarks: ``python -m benchmarks`` (or ``nox -s bench``); see README.md.

Each scenario is a module (``decode``, ``fanout``, ``chunks``, ``overhead``, ``memory``) with a
``run(settings) -> list[Row]``; ``_harness`` holds what they share and ``__main__`` the command
line, the table and the results files. Nothing is imported here, so that
``python -m benchmarks.memory`` (the memory scenario's worker) starts light.
"""
