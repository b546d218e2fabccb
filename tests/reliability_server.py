# SPDX-License-Identifier: GPL-3.0-or-later
"""The Orthanc of the reliability tests: the shim with ``reliability_probe``.

A pytest plugin (loaded through ``pytest_plugins``) with one module-scoped
fixture, :func:`reliability`: Orthanc with the probe, eight small instances
(one per concurrent plugin thread) and one of 1 MiB, and helpers to run the
probe's loops.

The test modules import it before pytest loads it as a plugin, too late
for assertion rewriting: hence PYTEST_DONT_REWRITE.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest
from conftest import (
    assert_clean_exit,
    json_request,
    make_dicom,
    require_orthanc,
    sdk_server,
)

from orthanc_sdk.server import OrthancServer
from orthanc_sdk.testing import upload_dicom

__all__ = ["Reliability", "reliability", "upload"]

BIG_SIZE = 2**20


@dataclass
class Reliability:
    """The running server and what was uploaded to it."""

    server: OrthancServer
    output: str
    #: Orthanc ids of the eight small instances.
    small: list[str] = field(default_factory=list)
    #: The 1 MiB instance: its id, size, tags and its ancestors' ids.
    big: str = ""
    big_size: int = 0
    big_tags: dict[str, str] = field(default_factory=dict)
    big_ids: dict[str, str] = field(default_factory=dict)

    def loop(self, name: str, count: int, **args: Any) -> dict[str, Any]:
        """Run one of the probe's loops; fail on any error or mismatch."""
        report = json_request(
            self.server,
            "POST",
            "/rel/loop",
            {"loop": name, "count": count, "args": args},
        )
        assert report["error_count"] == 0, report
        assert report["mismatches"] == 0, report
        return report

    def alive(self) -> None:
        """Orthanc still answers ``GET /system``."""
        answer = self.server.get("/system", timeout=10)
        assert answer.status == 200, answer.text


def upload(server: OrthancServer, data: bytes) -> str:
    """Store one DICOM file; its Orthanc id."""
    (instance,) = upload_dicom(server, data)
    return instance


@pytest.fixture(scope="module")
def reliability(
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[Reliability]:
    """Orthanc with ``reliability_probe.py``; stopped cleanly at the end."""
    require_orthanc()
    output = str(tmp_path_factory.mktemp("reliability"))
    server = sdk_server(
        "reliability_probe.py",
        section={"TestOutput": output},
    )
    server.start()
    try:
        state = Reliability(server=server, output=output)
        for number in range(8):
            state.small.append(upload(server, make_dicom(f"REL-{number}")))
        tags = {
            "PatientID": "REL-BIG",
            "AccessionNumber": "RELACC1",
        }
        data = make_dicom(
            tags["PatientID"],
            AccessionNumber=tags["AccessionNumber"],
            # Random bytes: nothing on the way can shrink them.
            EncapsulatedDocument=os.urandom(BIG_SIZE),
        )
        state.big = upload(server, data)
        state.big_size = len(data)
        stored = server.get(f"/instances/{state.big}/file")
        assert hashlib.sha256(stored.body).digest() == (
            hashlib.sha256(data).digest()
        )
        instance = json_request(server, "GET", f"/instances/{state.big}")
        series = json_request(server, "GET", f"/instances/{state.big}/series")
        study = json_request(server, "GET", f"/instances/{state.big}/study")
        tags["StudyInstanceUID"] = study["MainDicomTags"]["StudyInstanceUID"]
        tags["SeriesInstanceUID"] = series["MainDicomTags"][
            "SeriesInstanceUID"
        ]
        tags["SOPInstanceUID"] = instance["MainDicomTags"]["SOPInstanceUID"]
        state.big_tags = tags
        state.big_ids = {
            "lookup_patient": study["ParentPatient"],
            "lookup_study": study["ID"],
            "lookup_study_with_accession_number": study["ID"],
            "lookup_series": series["ID"],
            "lookup_instance": state.big,
        }
        yield state
    finally:
        status = server.stop()
    assert_clean_exit(server, status)
