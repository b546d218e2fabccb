# SPDX-License-Identifier: GPL-3.0-or-later
"""A REST route that answers JSON built from the SDK's lookups.

``GET /lookup?PatientID=...&StudyInstanceUID=...`` (any of the five DICOM
identifiers below) answers, for each one asked, the Orthanc id it leads to
(``null`` when nothing, or several resources, match), plus the study's
description when a study was found::

    {"StudyInstanceUID": {"value": "1.2.3", "id": "6b9e..."},
     "StudyDescription": "CT head"}

Run it: ``python -m orthanc_sdk run examples/lookup_route.py``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any
from urllib.parse import unquote

import orthanc_sdk
from orthanc_sdk import Context, Request, Response


def _lookups(context: Context) -> dict[str, Callable[[str], str | None]]:
    return {
        "PatientID": context.lookup_patient,
        "StudyInstanceUID": context.lookup_study,
        "AccessionNumber": context.lookup_study_with_accession_number,
        "SeriesInstanceUID": context.lookup_series,
        "SOPInstanceUID": context.lookup_instance,
    }


def lookup(request: Request) -> dict[str, Any] | Response:
    """``GET /lookup``: the Orthanc id of each identifier asked."""
    context = orthanc_sdk.current_context()
    lookups = _lookups(context)
    unknown = sorted(set(request.get) - set(lookups))
    if unknown or not request.get:
        return Response(
            {"error": f"ask for one of {sorted(lookups)}", "unknown": unknown},
            status=400,
        )

    answer: dict[str, Any] = {}
    for tag, raw in request.get.items():
        # Orthanc passes GET arguments still percent-encoded.
        value = unquote(raw)
        answer[tag] = {"value": value, "id": lookups[tag](value)}

    study = answer.get("StudyInstanceUID", {}).get("id")
    if study is not None:
        with context.rest_api_get(f"/studies/{study}") as found:
            tags = found.json()["MainDicomTags"]
        answer["StudyDescription"] = tags.get("StudyDescription", "")
    return answer


def initialize(context: Context) -> None:
    """Register ``GET /lookup``."""
    context.register_rest_callback("/lookup", lookup)
