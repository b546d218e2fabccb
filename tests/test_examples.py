# SPDX-License-Identifier: GPL-3.0-or-later
"""Each plugin of ``examples/``, in a real Orthanc, and some on the fake.

The real servers come from the package's own fixture ``start_orthanc`` and
the files go in with ``orthanc_sdk.testing.upload_dicom``: the workflow a
plugin author follows.
"""

import base64
import hashlib
import os
import time
from collections.abc import Callable
from types import ModuleType
from typing import Any

import pytest
from conftest import import_script, make_dicom

from orthanc_sdk import ChangeType, ResourceType
from orthanc_sdk.server import OrthancServer
from orthanc_sdk.testing import FakeOrthanc, upload_dicom

EXAMPLES = os.path.join(os.path.dirname(os.path.dirname(__file__)), "examples")

Start = Callable[..., OrthancServer]


def example(name: str) -> str:
    """The path of an example plugin."""
    return os.path.join(EXAMPLES, name)


def import_example(name: str) -> ModuleType:
    """An example plugin imported as a module, for the fake core."""
    return import_script(example(f"{name}.py"), f"example_{name}")


def study_of(server: OrthancServer, instance: str) -> dict[str, Any]:
    """The study resource of an instance."""
    parent = server.get(f"/instances/{instance}/study")
    assert parent.status == 200, parent.text
    return parent.json()


# ---- lookup_route.py --------------------------------------------------------


@pytest.mark.orthanc
def test_lookup_route(start_orthanc: Start) -> None:
    server = start_orthanc(example("lookup_route.py"))
    data = make_dicom(
        "LOOKUP-1", AccessionNumber="ACC-1", StudyDescription="Head CT"
    )
    (instance,) = upload_dicom(server, data)
    study = study_of(server, instance)
    tags = study["MainDicomTags"]

    answer = server.get(
        f"/lookup?PatientID=LOOKUP-1&StudyInstanceUID="
        f"{tags['StudyInstanceUID']}&AccessionNumber=ACC-1"
    )
    assert answer.status == 200, answer.text
    assert answer.json() == {
        "PatientID": {"value": "LOOKUP-1", "id": study["ParentPatient"]},
        "StudyInstanceUID": {
            "value": tags["StudyInstanceUID"],
            "id": study["ID"],
        },
        "AccessionNumber": {"value": "ACC-1", "id": study["ID"]},
        "StudyDescription": "Head CT",
    }
    missing = server.get("/lookup?SeriesInstanceUID=1.2.999")
    assert missing.json() == {
        "SeriesInstanceUID": {"value": "1.2.999", "id": None}
    }
    assert server.get("/lookup?Modality=CT").status == 400


def test_lookup_route_on_the_fake(fake_orthanc: FakeOrthanc) -> None:
    plugin = import_example("lookup_route")
    plugin.initialize(fake_orthanc.context)
    fake_orthanc.add_lookup("study", "1.2.3", "study-a")
    fake_orthanc.add_rest(
        "/studies/study-a", {"MainDicomTags": {"StudyDescription": "MR"}}
    )

    answer = fake_orthanc.call_route(
        "GET", "/lookup?StudyInstanceUID=1.2.3&PatientID=P%201"
    )
    assert answer.status == 200
    assert answer.json() == {
        "StudyInstanceUID": {"value": "1.2.3", "id": "study-a"},
        # Decoded by the plugin, not found by the fake.
        "PatientID": {"value": "P 1", "id": None},
        "StudyDescription": "MR",
    }
    assert fake_orthanc.call_route("GET", "/lookup").status == 400


# ---- tag_new_studies.py -----------------------------------------------------


@pytest.mark.orthanc
def test_tag_new_studies(start_orthanc: Start) -> None:
    server = start_orthanc(
        example("tag_new_studies.py"), section={"TagProperty": 5123}
    )
    instances = upload_dicom(
        server, make_dicom("TAG-1"), make_dicom("TAG-2"), make_dicom("TAG-2")
    )
    studies = [study_of(server, i)["ID"] for i in instances]

    deadline = time.monotonic() + 20
    while True:
        tagged = server.get("/tagged-studies").json()
        if len(tagged) == 3 or time.monotonic() > deadline:
            break
        time.sleep(0.1)
    assert tagged == studies
    assert len(set(tagged)) == 3


def test_tag_new_studies_on_the_fake(fake_orthanc: FakeOrthanc) -> None:
    plugin = import_example("tag_new_studies")
    fake_orthanc.configuration["OrthancSdk"] = {"TagProperty": 4000}
    fake_orthanc.set_global_property(4000, '["older"]')

    plugin.on_change(ChangeType.NEW_STUDY, ResourceType.STUDY, "new")
    plugin.on_change(ChangeType.NEW_SERIES, ResourceType.SERIES, "series")
    plugin.on_change(ChangeType.NEW_STUDY, ResourceType.STUDY, "new")
    assert fake_orthanc.global_property(4000) == '["older", "new"]'


def test_tag_new_studies_refuses_a_bad_property() -> None:
    plugin = import_example("tag_new_studies")
    with FakeOrthanc({"OrthancSdk": {"TagProperty": "5100"}}) as fake:
        with pytest.raises(TypeError, match="TagProperty"):
            plugin.initialize(fake.context)


# ---- numpy_route.py ---------------------------------------------------------


@pytest.mark.orthanc
def test_numpy_route(start_orthanc: Start) -> None:
    server = start_orthanc(example("numpy_route.py"))
    data = make_dicom("NUMPY-1")
    (instance,) = upload_dicom(server, data)

    answer = server.get(f"/numpy/{instance}")
    assert answer.status == 200, answer.text
    counts = [data.count(bytes([b])) for b in range(256)]
    assert answer.json() == {
        "size": len(data),
        "sum": sum(data),
        "histogram_max": max(counts),
        "magic": "DICM",
        "copied": False,
        "same_memory": True,
    }
    assert server.get("/numpy/0000-not-there").status == 404


# ---- pool_plugin.py ---------------------------------------------------------

USER, PASSWORD = "author", "pool-password"


@pytest.mark.orthanc
def test_pool_workers_use_the_token(start_orthanc: Start) -> None:
    # With authentication on, the workers get in only with the token.
    server = start_orthanc(
        example("pool_plugin.py"),
        config={
            "AuthenticationEnabled": True,
            "RegisteredUsers": {USER: PASSWORD},
        },
    )
    basic = base64.b64encode(f"{USER}:{PASSWORD}".encode()).decode()
    auth = {"Authorization": f"Basic {basic}"}
    files = [make_dicom(f"POOL-{n}") for n in range(4)]
    ids = []
    for data in files:
        stored = server.post(
            "/instances",
            data,
            headers={"Content-Type": "application/dicom", **auth},
        )
        assert stored.status == 200, stored.text
        ids.append(stored.json()["ID"])
    assert server.get("/system").status == 401

    answer = server.post("/pool/sha256", ids, headers=auth, timeout=120)
    assert answer.status == 200, answer.text
    assert answer.json() == {
        i: hashlib.sha256(data).hexdigest()
        for i, data in zip(ids, files, strict=True)
    }
    bad = server.post("/pool/sha256", {"not": "a list"}, headers=auth)
    assert bad.status == 400
