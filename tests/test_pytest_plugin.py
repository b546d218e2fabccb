# SPDX-License-Identifier: GPL-3.0-or-later
"""The pytest plugin, as a plugin author's own test suite meets it.

Each test writes a small project (a plugin, an ini file, its tests) and
runs pytest on it in a child process, where the plugin is loaded by its
entry point only.
"""

import subprocess
import sys

import pytest

pytest_plugins = ("pytester",)

PLUGIN = """
import orthanc_sdk


def count(request):
    context = orthanc_sdk.current_context()
    with context.rest_api_get("/instances") as answer:
        return {"instances": len(answer.json())}


def initialize(context):
    context.register_rest_callback("/count", count)
"""

USER_TESTS = """
import pydicom.data

from orthanc_sdk.testing import upload_dicom


def test_route_counts_uploads(orthanc_server):
    path = pydicom.data.get_testdata_file("CT_small.dcm")
    ids = upload_dicom(orthanc_server, path)
    assert len(ids) == 1
    assert orthanc_server.get("/count").json() == {"instances": 1}


def test_route_on_the_fake(fake_orthanc):
    import plugin

    plugin.initialize(fake_orthanc.context)
    fake_orthanc.add_rest("/instances", ["a", "b"])
    assert fake_orthanc.call_route("GET", "/count").json() == {
        "instances": 2
    }
"""


def test_plugin_imports_nothing_heavy() -> None:
    code = (
        "import sys, orthanc_sdk.testing.pytest_plugin;"
        "print(sorted(m for m in sys.modules if m.startswith("
        "('orthanc_sdk.server', 'orthanc_sdk.testing.'))))"
    )
    done = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        check=True,
        cwd="/",
        timeout=60,
    )
    assert done.stdout.strip() == "['orthanc_sdk.testing.pytest_plugin']"


@pytest.mark.orthanc
def test_a_plugin_authors_suite(pytester: pytest.Pytester) -> None:
    pytester.makefile(".py", plugin=PLUGIN)
    pytester.makeini("[pytest]\northanc_plugin = plugin.py\n")
    pytester.makepyfile(test_plugin=USER_TESTS)

    result = pytester.runpytest_subprocess("-p", "no:cacheprovider")
    result.assert_outcomes(passed=2)


def test_a_fake_leak_fails_the_test(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        test_leak="""
def test_forgets_to_release(fake_orthanc):
    fake_orthanc.add_rest("/system", {"Version": "1"})
    kept = fake_orthanc.context.rest_api_get("/system")
    # kept stays alive past the test: the fixture reports it.
    test_forgets_to_release.kept = kept
"""
    )
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider")
    result.assert_outcomes(passed=1, errors=1)
    result.stdout.fnmatch_lines(["*1 blocks were never given back*/system*"])


def test_missing_settings_and_orthanc_are_explained(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    pytester.makeconftest(
        """
import orthanc_sdk.server

# As on a machine without the Debian package.
orthanc_sdk.server.DEBIAN_ORTHANC = "/nonexistent/Orthanc"
"""
    )
    pytester.makepyfile(
        test_settings="""
import pytest


def test_no_ini(orthanc_server):
    pass


def test_no_orthanc(start_orthanc, tmp_path):
    script = tmp_path / "p.py"
    script.write_text("")
    start_orthanc(script)


def test_unrelated():
    assert True
"""
    )
    monkeypatch.setenv("PATH", "/nonexistent")
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider")
    result.assert_outcomes(passed=1, failed=1, errors=1)
    out = result.stdout.str()
    assert "During handling" not in out
    assert "set 'orthanc_plugin = plugin.py'" in out
    assert "apt-get install orthanc" in out
