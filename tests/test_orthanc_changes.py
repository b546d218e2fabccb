# SPDX-License-Identifier: GPL-3.0-or-later
"""On-change handlers in a real Orthanc.

``main_probe.py`` registers four handlers, in this order: one records each
event, one calls the REST API for every event (jobs included), one raises
when armed through ``/probe/arm-raise``, and the last counts the events it
saw (it must run even after the third raised).  ``/probe/changes`` answers
``{"events": [[change, resource type, id, seen by the last], ...],
"failures": [...], "calls": n}``.
"""

import pytest
from conftest import (
    Dataset,
    instance_summary,
    json_request,
    log_records,
    make_dicom,
    wait_until,
)

pytestmark = pytest.mark.orthanc


def changes(orthanc: Dataset) -> dict:
    return json_request(orthanc.server, "GET", "/probe/changes")


def events_of(orthanc: Dataset, change: str) -> list[list]:
    return [e for e in changes(orthanc)["events"] if e[0] == change]


def upload(orthanc: Dataset, patient_id: str) -> dict:
    answer = orthanc.server.post(
        "/instances",
        make_dicom(patient_id),
        headers={"Content-Type": "application/dicom"},
    )
    assert answer.status == 200, answer.text
    return answer.json()


def test_orthanc_started_arrives_once(orthanc: Dataset) -> None:
    started = events_of(orthanc, "ORTHANC_STARTED")
    assert len(started) == 1
    assert started[0][1] == "NONE"


def test_new_and_stable_resources(orthanc: Dataset) -> None:
    """NEW_INSTANCE, NEW_STUDY, STABLE_STUDY with the right ids."""
    summary = instance_summary(orthanc)
    studies = {item["study"] for item in summary}

    def ids(change: str, resource: str) -> set[str]:
        return {e[2] for e in events_of(orthanc, change) if e[1] == resource}

    assert ids("NEW_INSTANCE", "INSTANCE") >= set(orthanc.instances)
    assert ids("NEW_SERIES", "SERIES") >= {s["series"] for s in summary}
    assert ids("NEW_STUDY", "STUDY") >= studies
    assert ids("NEW_PATIENT", "PATIENT") >= {s["patient"] for s in summary}
    # StableAge is 2 s in OrthancServer's configuration.
    wait_until(
        lambda: ids("STABLE_STUDY", "STUDY") >= studies,
        20,
        "STABLE_STUDY for every uploaded study",
    )


def test_handlers_use_the_rest_api_for_every_change(
    orthanc: Dataset,
) -> None:
    """Jobs included: no deadlock, every call answered."""
    server = orthanc.server
    stored = upload(orthanc, "PROBE-JOBS")
    study = stored["ParentStudy"]

    answer = server.post(f"/studies/{study}/anonymize", {"Asynchronous": True})
    assert answer.status == 200, answer.text
    job = answer.json()["ID"]
    # A synchronous job too, while the handlers call the REST API.
    answer = server.post(
        f"/studies/{study}/modify",
        {"Replace": {"StudyDescription": "probe"}, "Force": True},
    )
    assert answer.status == 200, answer.text

    def job_events() -> set[str]:
        return {
            e[0]
            for e in changes(orthanc)["events"]
            if e[2] == job and e[0].startswith("JOB_")
        }

    wait_until(
        lambda: job_events() == {"JOB_SUBMITTED", "JOB_SUCCESS"},
        20,
        "JOB_SUBMITTED and JOB_SUCCESS of the anonymization",
    )
    assert server.get(f"/jobs/{job}").json()["State"] == "Success"

    # Every event got its REST calls, none failed.
    state = wait_until(
        lambda: (s := changes(orthanc))["calls"] == len(s["events"]) and s,
        20,
        "the REST calls of every event",
    )
    assert state["failures"] == []
    kinds = {e[0] for e in state["events"]}
    assert {"NEW_INSTANCE", "JOB_SUBMITTED", "JOB_SUCCESS"} <= kinds


def test_a_raising_handler_is_logged(orthanc: Dataset) -> None:
    server = orthanc.server
    assert server.post("/probe/arm-raise", b"").status == 200
    stored = upload(orthanc, "PROBE-RAISE")

    record = wait_until(
        lambda: log_records(server.log(), "PROBE-CHANGE-RAISE"),
        10,
        "the handler's traceback in the log",
    )[0]
    assert record.startswith("E")
    assert "on-change handler" in record
    assert "Traceback (most recent call last)" in record

    # The handler after the raising one saw every event, and events go on.
    later = upload(orthanc, "PROBE-AFTER-RAISE")
    wait_until(
        lambda: (
            ["NEW_INSTANCE", "INSTANCE", later["ID"], 1]
            in changes(orthanc)["events"]
        ),
        10,
        "the next upload's NEW_INSTANCE",
    )
    events = changes(orthanc)["events"]
    assert ["NEW_INSTANCE", "INSTANCE", stored["ID"], 1] in events
    # Handlers run one event at a time, in order: only the newest event
    # may still be waiting for the last handler.
    assert all(event[3] == 1 for event in events[:-1])
