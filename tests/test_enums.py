"""The IntEnum classes match the compiled module (the SDK header) exactly."""

import re

import pytest

from orthanc_sdk import ChangeType, ErrorCode, HttpMethod, ResourceType, lib


def _c_members(prefix):
    return {
        name[len(prefix) :]: getattr(lib, name)
        for name in dir(lib)
        if name.startswith(prefix)
    }


def _snake(camel):
    # The naming rule the enums follow; "SQLite" is one word.
    camel = camel.replace("SQLite", "Sqlite")
    return re.sub(
        r"(?<=[a-z0-9])(?=[A-Z])|(?<=[A-Z])(?=[A-Z][a-z])", "_", camel
    ).upper()


@pytest.mark.parametrize(
    ("enum", "prefix"),
    [
        (ErrorCode, "OrthancPluginErrorCode_"),
        (HttpMethod, "OrthancPluginHttpMethod_"),
        (ResourceType, "OrthancPluginResourceType_"),
        (ChangeType, "OrthancPluginChangeType_"),
    ],
)
def test_members_match_the_header(enum, prefix):
    expected = {_snake(c): value for c, value in _c_members(prefix).items()}
    assert {m.name: m.value for m in enum} == expected
    assert len(expected) >= 4


def test_well_known_values():
    # Values fixed by the SDK's ABI, which Orthanc never renumbers.
    assert ErrorCode.SUCCESS == 0
    assert ErrorCode.INTERNAL_ERROR == -1
    assert ErrorCode.UNKNOWN_RESOURCE == 17
    assert ErrorCode.DATABASE_NOT_INITIALIZED == 2038
    assert HttpMethod.GET == 1 and HttpMethod.DELETE == 4
    assert ResourceType.INSTANCE == 3
    assert ChangeType.ORTHANC_STARTED == 10
    assert ErrorCode.SQLITE_NOT_OPENED.name == "SQLITE_NOT_OPENED"
