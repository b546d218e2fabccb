# SPDX-License-Identifier: GPL-3.0-or-later
"""``python -m orthanc_sdk``: run, config and their help."""

import json
import os
import signal
import subprocess
import sys
import threading
from pathlib import Path
from typing import Any

import pytest
from conftest import STOP_SECONDS, plugin_script

import orthanc_sdk
from orthanc_sdk import __main__ as cli
from orthanc_sdk.server import OrthancServer, free_port

PROBE = plugin_script("cli_probe.py")


def run_cli(*args: str, timeout: float = 60.0) -> subprocess.CompletedProcess:
    """``python -m orthanc_sdk ARGS`` in a child, from another folder."""
    return subprocess.run(
        [sys.executable, "-m", "orthanc_sdk", *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        cwd="/",
    )


def test_console_script() -> None:
    script = os.path.join(os.path.dirname(sys.executable), "orthanc-sdk")
    done = subprocess.run(
        [script, "version"], capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith(f"orthanc_sdk {orthanc_sdk.__version__}")


@pytest.mark.parametrize("command", [[], ["run"], ["config"]])
def test_help(command: list[str]) -> None:
    done = run_cli(*command, "--help")
    assert done.returncode == 0, done.stderr
    assert "usage: python -m orthanc_sdk" in done.stdout
    if command:
        for option in ("--http-port", "--storage", "--config", "script"):
            assert option in done.stdout


def test_config_prints_what_run_would_use(tmp_path: Path) -> None:
    done = run_cli("config", PROBE, "--http-port", "18042")
    assert done.returncode == 0, done.stderr
    config = json.loads(done.stdout)
    assert config["HttpPort"] == 18042
    assert config["RemoteAccessAllowed"] is False
    assert config["Plugins"] == [orthanc_sdk.plugin_path()]
    assert config["OrthancSdk"] == {"Script": PROBE}
    # Without --storage, Orthanc's own default applies.
    assert "StorageDirectory" not in config


def test_config_into_a_closed_pipe() -> None:
    # As "config ... | head -1": the reader is gone before the write.
    process = subprocess.Popen(
        [sys.executable, "-m", "orthanc_sdk", "config", PROBE],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd="/",
    )
    assert process.stdout is not None
    process.stdout.close()
    err = process.communicate(timeout=60)[1]
    assert process.returncode == 0, err
    assert "BrokenPipeError" not in err


def test_config_merges_extra_json(tmp_path: Path) -> None:
    extra = tmp_path / "extra.json"
    extra.write_text(
        json.dumps(
            {
                "Name": "mine",
                "Plugins": ["/opt/other.so"],
                "OrthancSdk": {"Level": 2, "Script": "ignored.py"},
            }
        )
    )
    storage = tmp_path / "db"
    done = run_cli(
        "config", PROBE, "--config", str(extra), "--storage", str(storage)
    )
    assert done.returncode == 0, done.stderr
    config = json.loads(done.stdout)
    assert config["Name"] == "mine"
    assert config["Plugins"] == ["/opt/other.so", orthanc_sdk.plugin_path()]
    assert config["OrthancSdk"] == {"Level": 2, "Script": PROBE}
    assert config["StorageDirectory"] == str(storage)
    assert config["IndexDirectory"] == str(storage)


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("{", "is not JSON"),
        ("[1]", "must hold a JSON object"),
        ('{"OrthancSdk": 3}', '"OrthancSdk"'),
        ('{"Plugins": "x.so"}', '"Plugins"'),
    ],
)
def test_config_refuses_bad_extra_json(
    tmp_path: Path, content: str, message: str
) -> None:
    extra = tmp_path / "extra.json"
    extra.write_text(content)
    done = run_cli("config", PROBE, "--config", str(extra))
    assert done.returncode == 2
    assert message in done.stderr
    assert done.stdout == ""


def test_missing_script_and_bad_port(tmp_path: Path) -> None:
    missing = run_cli("run", str(tmp_path / "nope.py"))
    assert missing.returncode == 2
    assert "nope.py does not exist" in missing.stderr
    port = run_cli("config", PROBE, "--http-port", "70000")
    assert port.returncode == 2
    assert "not a TCP port" in port.stderr


def test_run_without_orthanc_names_the_package(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr(
        "orthanc_sdk.server.DEBIAN_ORTHANC", "/nonexistent/Orthanc"
    )
    monkeypatch.setenv("PATH", "/nonexistent")
    assert cli.main(["run", PROBE]) == 2
    assert "apt-get install orthanc" in capsys.readouterr().err


@pytest.mark.orthanc
def test_run_serves_the_plugin_and_stops_on_ctrl_c(tmp_path: Path) -> None:
    extra = tmp_path / "extra.json"
    extra.write_text(json.dumps({"OrthancSdk": {"Greeting": "hi"}}))
    port = free_port()
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "orthanc_sdk",
            "run",
            PROBE,
            "--http-port",
            str(port),
            "--config",
            str(extra),
            "--storage",
            str(tmp_path / "storage"),
        ],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd="/",
        start_new_session=True,
    )
    # Both pipes read as they come: stderr says when the runner is ready.
    out_lines: list[str] = []
    err_lines: list[str] = []
    ready = threading.Event()

    def read(stream: Any, lines: list[str]) -> None:
        for line in stream:
            lines.append(line)
            if "answers on" in line:
                ready.set()

    readers = [
        threading.Thread(target=read, args=pipe, daemon=True)
        for pipe in ((process.stdout, out_lines), (process.stderr, err_lines))
    ]
    for reader in readers:
        reader.start()
    try:
        assert ready.wait(60), "".join(err_lines)
        # A client of that port, without starting a second Orthanc.
        client = OrthancServer(http_port=port, orthanc="unused")
        answer = client.get("/cli-probe", timeout=10)
        assert answer.status == 200, answer.text
        assert answer.json()["section"] == {
            "Greeting": "hi",
            "Script": PROBE,
        }
    finally:
        process.send_signal(signal.SIGINT)
        process.wait(STOP_SECONDS + 10)
        for reader in readers:
            reader.join(10)
    out, err = "".join(out_lines), "".join(err_lines)
    assert process.returncode == 0, err
    assert f"answers on http://127.0.0.1:{port}/" in err
    assert "stopping Orthanc" in err
    # The log was streamed, the plugin's print included, to the end.
    assert "cli_probe: initialized" in out
    assert "Orthanc has stopped" in out
    # --storage is kept.
    assert os.listdir(tmp_path / "storage")


@pytest.mark.orthanc
def test_run_reports_a_plugin_that_fails() -> None:
    done = run_cli(
        "run",
        plugin_script("failing_probe.py"),
        "--http-port",
        str(free_port()),
        timeout=90,
    )
    assert done.returncode == 1
    assert "Orthanc exited during start-up" in done.stderr
    assert "failing_probe refuses to start" in done.stdout
