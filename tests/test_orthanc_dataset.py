# SPDX-License-Identifier: GPL-3.0-or-later
"""The binding against Orthanc's own REST API, for every stored instance.

The session's Orthanc holds pydicom's test files (real files from the
field: odd encodings, non-ASCII names, duplicated UIDs).  What the plugin
gets through the binding is compared with what an HTTP client gets.
"""

import hashlib
from typing import Any

import pytest
from conftest import (
    Dataset,
    instance_summary,
    json_request,
    probe_calls,
    pydicom_files,
)

pytestmark = pytest.mark.orthanc

# The identifier tags, the lookup method that searches each one and the
# resource level it finds.
LOOKUPS = {
    "PatientID": ("lookup_patient", "Patient", "patient"),
    "StudyInstanceUID": ("lookup_study", "Study", "study"),
    "AccessionNumber": (
        "lookup_study_with_accession_number",
        "Study",
        "study",
    ),
    "SeriesInstanceUID": ("lookup_series", "Series", "series"),
    "SOPInstanceUID": ("lookup_instance", "Instance", "instance"),
}


def test_upload_keeps_the_whole_file_set(orthanc: Dataset) -> None:
    """Every file is sent; Orthanc stores the DICOM ones, refuses the rest."""
    files = pydicom_files()
    assert len(orthanc.stored) + len(orthanc.refused) == len(files)
    # Some files are copies of others (same SOP Instance UID, same
    # patient): they are stored once.
    assert 100 < len(orthanc.instances) <= len(orthanc.stored)
    refused = {path.rsplit("/", 1)[-1] for path, _ in orthanc.refused}
    # Not DICOM at all.
    assert "README.txt" in refused
    for _path, status in orthanc.refused:
        # 1.10.1 answers 400 (not parsable) or 404 ("Inexistent tag": a
        # tag it needs is missing, as in DICOMDIRs); never a server error.
        assert 400 <= status < 500
    statistics = json_request(orthanc.server, "GET", "/statistics")
    assert statistics["CountInstances"] >= len(orthanc.instances)
    print(
        f"uploaded {len(files)} files in {orthanc.upload_seconds:.1f} s:"
        f" {len(orthanc.instances)} instances, {len(refused)} refused"
    )


def _expected_lookup(server: Any, tag: str, value: str) -> str | None:
    """What a lookup must answer, from Orthanc's REST API.

    ``POST /tools/lookup`` (checked on 1.10.1 and in its source) searches
    PatientID, StudyInstanceUID, SeriesInstanceUID and SOPInstanceUID, each
    at its own level, with the same normalisation as the SDK's lookups
    (case folded, non-ASCII dropped, spaces trimmed, no wildcards), and
    answers every match as ``{"Type", "ID", "Path"}``.  It does not search
    AccessionNumber: for that one, ``POST /tools/find`` at the study level
    is the reference (an empty value there is no constraint: every study
    matches), asked with the value as stored: /tools/find neither drops
    non-ASCII characters nor trims spaces, so the variants of a value (see
    :func:`_variants`, whose equivalence the other four tags check against
    /tools/lookup) take the stored value's answer.

    The SDK's lookups answer an id only when exactly one resource of their
    level matches; for zero or several the core answers UnknownResource,
    which the binding turns into None.  Hence the rule: the id when the
    REST API finds exactly one resource of that level, else None.
    """
    _method, level, _key = LOOKUPS[tag]
    if tag == "AccessionNumber":
        found = server.post(
            "/tools/find",
            {"Level": "Study", "Query": {"AccessionNumber": value}},
        )
        assert found.status == 200, found.text
        matches = found.json()
    else:
        found = server.post("/tools/lookup", value.encode("utf-8"))
        assert found.status == 200, found.text
        matches = [
            match["ID"] for match in found.json() if match["Type"] == level
        ]
    return matches[0] if len(matches) == 1 else None


def _variants(value: str) -> set[str]:
    # The value as stored, with its case swapped, with a non-ASCII letter
    # and with spaces around: the normalisation must treat them alike.
    return {value, value.swapcase(), value + "\u00e9", f" {value} "}


def test_lookups_agree_with_the_rest_api(orthanc: Dataset) -> None:
    """The five lookups answer what /tools/lookup (or /tools/find) finds."""
    server = orthanc.server
    summary = instance_summary(orthanc)

    # (tag, value looked up) -> value whose REST API answer is expected.
    questions: dict[tuple[str, str], str] = {}
    for item in summary:
        for tag, value in item["tags"].items():
            # A missing tag is looked up as the empty string.
            for variant in _variants(value or ""):
                if tag == "AccessionNumber":
                    questions[tag, variant] = value or ""
                else:
                    questions[tag, variant] = variant
    keys = list(questions)
    answers = json_request(
        server,
        "POST",
        "/probe/lookups",
        [[LOOKUPS[tag][0], value] for tag, value in keys],
    )
    got = dict(zip(keys, answers, strict=True))

    wrong = []
    for (tag, value), reference in questions.items():
        expected = _expected_lookup(server, tag, reference)
        if got[tag, value] != expected:
            wrong.append((tag, value, got[tag, value], expected))
    assert not wrong

    # Each answer, when there is one, is the instance's own ancestor; and
    # "several match" happens in this data set (e.g. PatientIDs "id11111"
    # and "id11111 ", or a SeriesInstanceUID shared by two studies).
    found = none = 0
    for item in summary:
        for tag, value in item["tags"].items():
            answer = got[tag, value or ""]
            if answer is None:
                none += 1
            else:
                found += 1
                assert answer == item[LOOKUPS[tag][2]], (tag, value)
    assert found > 3 * len(summary) and none > 0


def test_dicom_for_instance_is_the_stored_file(orthanc: Dataset) -> None:
    """get_dicom_for_instance == GET /instances/{id}/file, byte for byte.

    The plugin hashes ``memoryview(buffer)`` in place, and checks that the
    view's address is the Buffer's (no copy was made).
    """
    server = orthanc.server
    hashes = json_request(
        server, "POST", "/probe/dicom-hashes", orthanc.instances
    )
    assert sorted(hashes) == sorted(orthanc.instances)
    for instance in orthanc.instances:
        answer = server.get(f"/instances/{instance}/file")
        assert answer.status == 200
        assert hashes[instance] == {
            "sha256": hashlib.sha256(answer.body).hexdigest(),
            "size": len(answer.body),
            "zero_copy": True,
            "type": "Buffer",
        }


def test_rest_api_get_matches_http_for_every_instance(
    orthanc: Dataset,
) -> None:
    """rest_api_get answers the bytes HTTP answers (tags, resource)."""
    server = orthanc.server
    uris = []
    for instance in orthanc.instances:
        uris.append(f"/instances/{instance}/tags?simplify")
        uris.append(f"/instances/{instance}/metadata?expand")
    answers = probe_calls(server, [{"fn": "get", "uri": uri} for uri in uris])
    for uri, answer in zip(uris, answers, strict=True):
        expected = server.get(uri)
        assert expected.status == 200
        assert answer == {
            "ok": True,
            "type": "Buffer",
            "len": len(expected.body),
            "sha256": hashlib.sha256(expected.body).hexdigest(),
        }, uri
