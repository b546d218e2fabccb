# SPDX-License-Identifier: GPL-3.0-or-later
"""orthanc_sdk.testing.FakeOrthanc, through the ``fake_orthanc`` fixture.

The fixture comes from the package's pytest plugin (its entry point), so
these tests also prove that the plugin is registered and loads.
"""

import hashlib
import sys
import threading
import time

import pytest

import orthanc_sdk
from orthanc_sdk import callbacks
from orthanc_sdk.testing import FakeOrthanc


def test_fixture_installs_current_context(fake_orthanc: FakeOrthanc) -> None:
    assert orthanc_sdk.current_context() is fake_orthanc.context


def test_current_context_is_restored_after_dispose() -> None:
    with pytest.raises(RuntimeError, match="only inside"):
        orthanc_sdk.current_context()
    fake = FakeOrthanc()
    fake.install()
    assert orthanc_sdk.current_context() is fake.context
    fake.dispose()
    with pytest.raises(RuntimeError, match="only inside"):
        orthanc_sdk.current_context()


def test_rest_answers_by_method_and_uri(fake_orthanc: FakeOrthanc) -> None:
    fake_orthanc.add_rest("/system", {"Version": "9.9.9"})
    fake_orthanc.add_rest("/tools/echo", "posted", method="POST")
    context = fake_orthanc.context

    with context.rest_api_get("/system") as answer:
        assert answer.json() == {"Version": "9.9.9"}
    with context.rest_api_get("/system?expand") as answer:
        assert answer.json() == {"Version": "9.9.9"}
    with context.rest_api_post("/tools/echo", b"x") as answer:
        assert answer.text == "posted"
    assert fake_orthanc.calls[-1].body == b"x"
    with pytest.raises(orthanc_sdk.UnknownResourceError):
        context.rest_api_get("/patients")
    # Only POST was programmed for /tools/echo.
    with pytest.raises(orthanc_sdk.UnknownResourceError):
        context.rest_api_put("/tools/echo", b"x")


def test_rest_answer_from_a_function(fake_orthanc: FakeOrthanc) -> None:
    fake_orthanc.add_rest(
        "/tools/length", lambda call: {"n": len(call.body)}, method="POST"
    )
    with fake_orthanc.context.rest_api_post("/tools/length", "abcd") as a:
        assert a.json() == {"n": 4}


def test_call_rest_api_statuses(fake_orthanc: FakeOrthanc) -> None:
    fake_orthanc.add_rest("/system", {"Name": "fake"})
    fake_orthanc.add_rest("/gone", status=410)
    context = fake_orthanc.context

    found = context.call_rest_api("GET", "/system")
    assert found.status == 200
    assert found.headers["content-type"] == "application/json"
    assert found.body.json() == {"Name": "fake"}
    found.body.release()
    assert context.call_rest_api("GET", "/nothing").status == 404
    with pytest.raises(orthanc_sdk.UnknownResourceError):
        context.call_rest_api("GET", "/gone")
    with pytest.raises(orthanc_sdk.UnknownResourceError):
        context.rest_api_get("/gone")


def test_lookups(fake_orthanc: FakeOrthanc) -> None:
    fake_orthanc.add_lookup("patient", "P1", "patient-id")
    fake_orthanc.add_lookup("study", "1.2.3", "study-id")
    fake_orthanc.add_lookup("accession_number", "A7", "study-id")
    fake_orthanc.add_lookup("series", "1.2.3.4", "series-id")
    fake_orthanc.add_lookup("instance", "1.2.3.4.5", "instance-id")
    context = fake_orthanc.context

    assert context.lookup_patient("P1") == "patient-id"
    assert context.lookup_study("1.2.3") == "study-id"
    assert context.lookup_study_with_accession_number("A7") == "study-id"
    assert context.lookup_series("1.2.3.4") == "series-id"
    assert context.lookup_instance("1.2.3.4.5") == "instance-id"
    assert context.lookup_patient("P2") is None
    with pytest.raises(ValueError, match="level must be one of"):
        fake_orthanc.add_lookup("file", "x", "y")


def test_global_properties(fake_orthanc: FakeOrthanc) -> None:
    fake_orthanc.set_global_property(2000, "before")
    context = fake_orthanc.context

    assert context.get_global_property(2000) == "before"
    assert context.get_global_property(2001, "default") == "default"
    context.set_global_property(2001, "set by the plugin")
    assert fake_orthanc.global_property(2001) == "set by the plugin"
    assert fake_orthanc.global_property(2002) is None


def test_dicom_by_instance_id(fake_orthanc: FakeOrthanc) -> None:
    data = bytes(128) + b"DICM" + bytes(range(256))
    fake_orthanc.add_dicom("instance-1", data)
    context = fake_orthanc.context

    with context.get_dicom_for_instance("instance-1") as dicom:
        assert hashlib.sha256(dicom).digest() == hashlib.sha256(data).digest()
    with context.rest_api_get("/instances/instance-1/file") as file:
        assert bytes(file) == data
    with pytest.raises(orthanc_sdk.UnknownResourceError):
        context.get_dicom_for_instance("instance-2")


def test_configuration_and_token() -> None:
    with FakeOrthanc({"Name": "fake", "MyPlugin": {"Level": 3}}) as fake:
        assert fake.context.configuration["MyPlugin"] == {"Level": 3}
        token = fake.context.generate_rest_api_authorization_token()
        assert token == "Bearer fake-orthanc-token"


def test_leaks_are_named() -> None:
    fake = FakeOrthanc()
    fake.add_rest("/system", {"Version": "1"})
    kept = fake.context.rest_api_get("/system")
    try:
        with pytest.raises(AssertionError, match=r"1 blocks .*/system"):
            fake.check_clean()
        assert fake.leaks() == ["RestApiGet /system"]
    finally:
        kept.release()
        fake.dispose()
    fake.check_clean()


def test_routes_are_served(fake_orthanc: FakeOrthanc) -> None:
    def hello(request: orthanc_sdk.Request) -> object:
        return {
            "groups": list(request.groups),
            "get": request.get,
            "method": request.method.name,
            "body": request.body.decode(),
            "header": request.headers.get("x-probe"),
        }

    def teapot(request: orthanc_sdk.Request) -> orthanc_sdk.Response:
        return orthanc_sdk.Response(
            "short and stout", status=409, headers={"X-Kind": "tea"}
        )

    def missing(request: orthanc_sdk.Request) -> object:
        return orthanc_sdk.current_context().rest_api_get("/nothing")

    context = fake_orthanc.context
    context.register_rest_callback("/hello/([a-z]+)", hello)
    context.register_rest_callback("/teapot", teapot)
    context.register_rest_callback("/missing", missing)
    assert fake_orthanc.routes == ["/hello/([a-z]+)", "/teapot", "/missing"]

    answer = fake_orthanc.call_route(
        "POST", "/hello/world?a=1&b", "body", headers={"X-Probe": "yes"}
    )
    assert answer.status == 200
    assert answer.content_type == "application/json"
    assert answer.json() == {
        "groups": ["world"],
        "get": {"a": "1", "b": ""},
        "method": "POST",
        "body": "body",
        "header": "yes",
    }
    teapot_answer = fake_orthanc.call_route("GET", "/teapot")
    assert (teapot_answer.status, teapot_answer.text) == (
        409,
        "short and stout",
    )
    assert teapot_answer.headers["x-kind"] == "tea"
    # An UnknownResourceError in a route answers 404, as in Orthanc.
    assert fake_orthanc.call_route("GET", "/missing").status == 404
    assert fake_orthanc.call_route("GET", "/hello/World1").status == 404
    with pytest.raises(ValueError, match="method"):
        fake_orthanc.call_route("PATCH", "/teapot")


def test_programmed_answer_wins(fake_orthanc: FakeOrthanc) -> None:
    fake_orthanc.add_rest("/system", {"Version": "1"})
    fake_orthanc.answer("RestApiGet", code=9)  # wins over the data
    with pytest.raises(orthanc_sdk.OrthancError) as raised:
        fake_orthanc.context.rest_api_get("/system")
    assert int(raised.value.code) == 9


def test_bad_programming_is_refused(fake_orthanc: FakeOrthanc) -> None:
    with pytest.raises(ValueError, match="start with"):
        fake_orthanc.add_rest("system", b"")
    with pytest.raises(ValueError, match="method"):
        fake_orthanc.add_rest("/system", b"", method="PATCH")
    with pytest.raises(ValueError, match="HTTP status"):
        fake_orthanc.add_rest("/system", b"", status=42)


def test_a_missing_fake_core_module_names_what_to_install(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from orthanc_sdk.testing import fakecore

    monkeypatch.setattr(fakecore, "_module", None)
    monkeypatch.setitem(
        sys.modules, "orthanc_sdk.testing._fakecore_cffi", None
    )
    with pytest.raises(ImportError, match="C compiler and the Debian package"):
        fakecore.load()


def test_locked_routes_run_one_at_a_time(fake_orthanc: FakeOrthanc) -> None:
    inside = threading.Semaphore(0)
    active: list[int] = []
    most: list[int] = [0]

    def slow(request: orthanc_sdk.Request) -> str:
        active.append(1)
        most[0] = max(most[0], len(active))
        inside.release()
        time.sleep(0.05)
        active.pop()
        return "done"

    fake_orthanc.context.register_rest_callback("/slow", slow, lock=True)
    answers: list[int] = []
    threads = [
        threading.Thread(
            target=lambda: answers.append(
                fake_orthanc.call_route("GET", "/slow").status
            )
        )
        for _ in range(4)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(10)
    assert answers == [200] * 4
    assert most[0] == 1


def test_each_fake_sees_its_plugin_register_on_change() -> None:
    # The dispatcher is one per process: a fake left behind by an earlier
    # test must not keep it, nor the handlers registered through it.
    def handler(*event: object) -> None:
        pass

    for _ in range(2):
        with FakeOrthanc() as fake:
            fake.context.register_on_change_callback(handler)
            assert fake.services().count("RegisterOnChangeCallback") == 1
            assert callbacks.change_dispatcher(fake.context).handlers == [
                handler
            ]
