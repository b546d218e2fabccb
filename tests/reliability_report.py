# SPDX-License-Identifier: GPL-3.0-or-later
"""Figures of the reliability tests, printed at the end of the run.

The tests in ``test_reliability_*.py`` load this module as a pytest plugin
(``pytest_plugins``) and call :func:`record` with what they measured: the
growth of Orthanc's resident size, counts and durations.  The lines are
printed again in a "reliability figures" section of the terminal summary,
so one run of those files re-measures them all.

The test modules import it before pytest loads it as a plugin, too late
for assertion rewriting: hence PYTEST_DONT_REWRITE.
"""

from __future__ import annotations

from typing import Any

__all__ = ["record", "rss_kib"]

_FIGURES: list[str] = []


def rss_kib(pid: int) -> int:
    """The resident size of process ``pid`` in KiB (``VmRSS``)."""
    with open(f"/proc/{pid}/status", encoding="ascii") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    raise RuntimeError(f"no VmRSS in /proc/{pid}/status")


def record(scenario: str, **figures: Any) -> str:
    """Keep one line of figures for the summary, and print it now."""
    text = " ".join(f"{key}={value}" for key, value in figures.items())
    line = f"{scenario}: {text}"
    _FIGURES.append(line)
    print(line)
    return line


def pytest_terminal_summary(terminalreporter: Any) -> None:
    """Print the figures recorded during the run."""
    if not _FIGURES:
        return
    terminalreporter.section("reliability figures")
    for line in _FIGURES:
        terminalreporter.write_line(line)
