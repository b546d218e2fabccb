"""Shared test set-up.

Besides the guard below, helpers for the tests that run a real Orthanc
(``test_orthanc_*.py``): a runner for Orthanc with the shim and a plugin
script from ``tests/plugins``, the session's server loaded with pydicom's
test files, a synthetic DICOM maker and a raw HTTP client.
"""

import base64
import functools
import importlib.util
import io
import os
import re
import socket
import subprocess
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from types import ModuleType
from typing import Any

import pytest

import orthanc_sdk
from orthanc_sdk.server import HttpResponse, OrthancServer, find_orthanc

# The tests exercise the installed package (scripts/setup.sh builds it); the
# source tree has no compiled modules and must not shadow it.
HERE = os.path.dirname(os.path.abspath(__file__))
if os.path.dirname(os.path.dirname(orthanc_sdk.__file__)) == os.path.dirname(
    HERE
):
    raise RuntimeError(
        "orthanc_sdk was imported from the source tree; run the tests with"
        " scripts/test.sh (or the venv's pytest script, not python -m pytest)"
    )

PLUGINS = os.path.join(HERE, "plugins")

# Orthanc takes about 2.5 s to stop; SIGTERM and SIGINT must do it in this.
STOP_SECONDS = 10.0


# ---- Orthanc ----------------------------------------------------------------


def require_orthanc() -> str:
    """The Orthanc executable, or skip the calling test module."""
    try:
        return find_orthanc()
    except FileNotFoundError as error:
        pytest.skip(str(error), allow_module_level=True)


@functools.cache
def orthanc_version() -> tuple[int, ...]:
    """The version of the Orthanc that the tests run, e.g. ``(1, 10, 1)``.

    Tests branch on it where Orthanc's behaviour changed between the
    Debian 12 (1.10.1) and Debian 13 (1.12.x) packages.
    """
    output = subprocess.run(
        [find_orthanc(), "--version"],
        capture_output=True,
        text=True,
        check=True,
        timeout=30,
    ).stdout
    match = re.search(r"(\d+)\.(\d+)\.(\d+)", output)
    assert match, f"cannot read Orthanc's version in {output!r}"
    return tuple(int(part) for part in match.groups())


def plugin_script(name: str) -> str:
    """Absolute path of a plugin script in ``tests/plugins``."""
    return os.path.join(PLUGINS, name)


def import_script(path: str, name: str) -> ModuleType:
    """A plugin script imported as module ``name``, for the fake core."""
    spec = importlib.util.spec_from_file_location(name, path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def c_string_or_error(value: str | bytes) -> bytes | type[Exception]:
    """The bytes a core must see for a string argument, or the exception.

    A ``str`` goes as UTF-8 (lone surrogates as the bytes they stand
    for); a NUL, which would cut the C string short, is refused.
    """
    if isinstance(value, str):
        try:
            value = value.encode("utf-8", "surrogateescape")
        except UnicodeEncodeError:
            return ValueError
    return ValueError if b"\0" in value else value


def sdk_server(
    script: str | None,
    *,
    section: dict[str, Any] | None = None,
    config: dict[str, Any] | None = None,
    **kwargs: Any,
) -> OrthancServer:
    """An :class:`OrthancServer` that loads the shim with ``script``.

    Args:
        script: the plugin script (a path, or a name in ``tests/plugins``);
            None leaves the "OrthancSdk" section out of the configuration.
        section: extra keys of the "OrthancSdk" section.
        config: other configuration keys.
        kwargs: passed to :class:`OrthancServer` (``storage``, ...).
    """
    merged = dict(config or {})
    if script is not None:
        path = script if os.path.isabs(script) else plugin_script(script)
        merged["OrthancSdk"] = {"Script": path, **(section or {})}
    return OrthancServer(
        plugins=[orthanc_sdk.plugin_path()], config=merged, **kwargs
    )


def wait_until(predicate: Callable[[], Any], timeout: float, what: str) -> Any:
    """Poll ``predicate`` until it answers something true; return that."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout:g} s: {what}")
        time.sleep(0.1)


def log_records(log: str, marker: str) -> list[str]:
    """The first lines of Orthanc's log records that mention ``marker``.

    Orthanc starts each record with its level letter (``I``, ``W``, ``E``)
    and the date; the continuation lines of a multi-line message (a
    traceback) have no prefix and are joined to their record here.
    """
    records: list[str] = []
    for line in log.splitlines():
        if re.match(r"[IWET]\d{4} ", line) or not records:
            records.append(line)
        else:
            records[-1] += "\n" + line
    return [record for record in records if marker in record]


def assert_clean_exit(server: OrthancServer, status: int) -> None:
    """Orthanc exited with 0, without a crash in its log."""
    log = server.log()
    assert status == 0, log[-3000:]
    for word in ("Segmentation", "core dumped", "Fatal Python error"):
        assert word not in log, log[-3000:]
    assert "Orthanc has stopped" in log


# ---- talking to the probe plugin --------------------------------------------


def json_request(
    server: OrthancServer, method: str, path: str, body: Any = None
) -> Any:
    """A request to a route that must answer 200 with JSON."""
    answer = server.request(method, path, body)
    assert answer.status == 200, (method, path, answer.status, answer.text)
    return answer.json()


def probe_calls(
    server: OrthancServer, calls: list[dict[str, Any]]
) -> list[dict[str, Any]]:
    """Run REST API calls through the binding, inside Orthanc.

    Each call is ``{"fn": "get"|"post"|"put"|"delete"|"call", "uri": ...}``
    with optional ``body`` (JSON-able), ``body_b64``, ``headers``,
    ``after_plugins``, ``method`` (for ``call``) and ``want_body``.  See
    ``tests/plugins/main_probe.py``.
    """
    answers = json_request(server, "POST", "/probe/call", calls)
    assert len(answers) == len(calls)
    return answers


def b64(data: bytes) -> str:
    """Base64 text, for ``body_b64``."""
    return base64.b64encode(data).decode()


def error_status(answer: HttpResponse) -> int | None:
    """The ``OrthancStatus`` (error code) of an HTTP error answer, if any."""
    try:
        return answer.json().get("OrthancStatus")
    except (ValueError, AttributeError):
        return None


def raw_http(port: int, request: bytes, timeout: float = 30.0) -> bytes:
    """Send bytes as they are (no URL checks) and read the whole answer."""
    with socket.create_connection(("127.0.0.1", port), timeout) as sock:
        sock.sendall(request)
        chunks = []
        while chunk := sock.recv(65536):
            chunks.append(chunk)
    return b"".join(chunks)


# ---- DICOM ------------------------------------------------------------------


def pydicom_files() -> list[str]:
    """pydicom's bundled test files (recursively), plus its charset files.

    The charset files carry the non-ASCII names and odd encodings; every
    file is sent, DICOM or not: Orthanc refuses some, which the tests
    count.
    """
    import pydicom

    data = os.path.join(os.path.dirname(pydicom.__file__), "data")
    found = []
    for folder in ("test_files", "charset_files"):
        for root, _dirs, files in os.walk(os.path.join(data, folder)):
            found.extend(os.path.join(root, name) for name in files)
    return sorted(found)


def make_dicom(patient_id: str, **tags: str) -> bytes:
    """A small Secondary Capture file with fresh UIDs, as Part 10 bytes.

    The 128-byte preamble is zeros, so the body has NUL bytes.
    """
    from pydicom import dcmwrite
    from pydicom.dataset import Dataset, FileMetaDataset
    from pydicom.uid import (
        ExplicitVRLittleEndian,
        SecondaryCaptureImageStorage,
        generate_uid,
    )

    dataset = Dataset()
    dataset.PatientID = patient_id
    dataset.PatientName = "Probe^" + patient_id
    dataset.StudyInstanceUID = generate_uid()
    dataset.SeriesInstanceUID = generate_uid()
    dataset.SOPInstanceUID = generate_uid()
    dataset.SOPClassUID = SecondaryCaptureImageStorage
    dataset.Modality = "OT"
    for keyword, value in tags.items():
        setattr(dataset, keyword, value)
    meta = FileMetaDataset()
    meta.TransferSyntaxUID = ExplicitVRLittleEndian
    meta.MediaStorageSOPClassUID = dataset.SOPClassUID
    meta.MediaStorageSOPInstanceUID = dataset.SOPInstanceUID
    dataset.file_meta = meta

    stream = io.BytesIO()
    try:
        dcmwrite(stream, dataset, enforce_file_format=True)
    except TypeError:
        # pydicom 2.x spells it differently.
        dcmwrite(stream, dataset, write_like_original=False)
    data = stream.getvalue()
    assert data[:128] == bytes(128) and data[128:132] == b"DICM"
    return data


# ---- the session's Orthanc --------------------------------------------------


@dataclass
class Dataset:
    """The session's Orthanc and what was uploaded to it."""

    server: OrthancServer
    output: str
    #: Orthanc id of every stored instance, in upload order, no repeats.
    instances: list[str] = field(default_factory=list)
    #: (path, HTTP status) of the files Orthanc refused.
    refused: list[tuple[str, int]] = field(default_factory=list)
    #: Paths of the files stored (or found already stored).
    stored: list[str] = field(default_factory=list)
    upload_seconds: float = 0.0


@pytest.fixture(scope="session")
def orthanc(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Dataset]:
    """Orthanc with the shim and ``main_probe.py``, pydicom's files loaded.

    Stopped at the end of the session, where it must exit cleanly.
    """
    require_orthanc()
    output = str(tmp_path_factory.mktemp("probe-output"))
    server = sdk_server(
        "main_probe.py", section={"TestOutput": output, "Probe": [1, "two"]}
    )
    server.start()
    try:
        # Orthanc starts even when a plugin file is missing: check that
        # the shim and the script really run.
        assert json_request(server, "GET", "/probe/config")["type"] == "dict"

        dataset = Dataset(server=server, output=output)
        started = time.monotonic()
        seen = set()
        for path in pydicom_files():
            with open(path, "rb") as stream:
                content = stream.read()
            answer = server.post(
                "/instances",
                content,
                headers={"Content-Type": "application/dicom"},
            )
            if answer.status != 200:
                dataset.refused.append((path, answer.status))
                continue
            dataset.stored.append(path)
            instance = answer.json()["ID"]
            if instance not in seen:
                seen.add(instance)
                dataset.instances.append(instance)
        dataset.upload_seconds = time.monotonic() - started

        yield dataset
    finally:
        status = server.stop()
    assert_clean_exit(server, status)
    # The script's finalize() ran while the core still answered.
    assert "main_probe finalize: /system answered orthanc_sdk" in server.log()


def instance_summary(dataset: Dataset) -> list[dict[str, Any]]:
    """For each stored instance: its ancestors' ids and identifier tags."""
    server = dataset.server
    levels = {}
    for level in ("patients", "studies", "series", "instances"):
        levels[level] = {
            item["ID"]: item
            for item in json_request(server, "GET", f"/{level}?expand")
        }
    summary = []
    for instance_id in dataset.instances:
        instance = levels["instances"][instance_id]
        series = levels["series"][instance["ParentSeries"]]
        study = levels["studies"][series["ParentStudy"]]
        patient = levels["patients"][study["ParentPatient"]]
        summary.append(
            {
                "instance": instance_id,
                "series": series["ID"],
                "study": study["ID"],
                "patient": patient["ID"],
                "tags": {
                    "PatientID": patient["MainDicomTags"].get("PatientID"),
                    "StudyInstanceUID": study["MainDicomTags"].get(
                        "StudyInstanceUID"
                    ),
                    "AccessionNumber": study["MainDicomTags"].get(
                        "AccessionNumber"
                    ),
                    "SeriesInstanceUID": series["MainDicomTags"].get(
                        "SeriesInstanceUID"
                    ),
                    "SOPInstanceUID": instance["MainDicomTags"].get(
                        "SOPInstanceUID"
                    ),
                },
            }
        )
    return summary
