# SPDX-License-Identifier: GPL-3.0-or-later
"""The Orthanc runner alone, against the real Orthanc binary, no plugin."""

import os

import pytest

from orthanc_sdk.server import OrthancServer, OrthancStartError, find_orthanc

try:
    find_orthanc()
except FileNotFoundError as error:
    pytest.skip(str(error), allow_module_level=True)


def _running(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


def test_start_answer_stop() -> None:
    """Orthanc answers /system, then leaves no process and no files."""
    server = OrthancServer(plugins=[])

    with server:
        answer = server.get("/system")
        assert answer.status == 200
        assert "Version" in answer.json()
        assert server.url.startswith("http://127.0.0.1:")
        pid = server.pid
        tempdir = os.path.dirname(server.config_path)
        assert os.path.isdir(tempdir)
        assert os.path.isdir(server.storage)
        assert _running(pid)

    # Orthanc stops cleanly on SIGTERM.
    assert server.process.returncode == 0
    assert not _running(pid)
    assert not os.path.exists(tempdir)
    assert not os.path.exists(server.storage)
    assert "Orthanc" in server.log()
    assert server.stop() == server.process.returncode


def test_error_status_is_returned() -> None:
    """Error statuses come back as answers; refused uploads are skipped."""
    with OrthancServer() as server:
        answer = server.get("/instances/no-such-instance")
        assert answer.status == 404

        assert server.upload([server.config_path]) == []


def test_refused_start() -> None:
    """A configuration Orthanc rejects ends the run with its log."""
    server = OrthancServer(config={"HttpPort": "not a number"})

    with pytest.raises(OrthancStartError) as caught:
        server.start()

    assert caught.value.returncode != 0
    assert "HttpPort" in caught.value.log
    assert not os.path.exists(os.path.dirname(server.config_path))
    assert server.wait_exit(1) == caught.value.returncode
