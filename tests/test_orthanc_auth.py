# SPDX-License-Identifier: GPL-3.0-or-later
"""The REST API token, used by an ordinary HTTP client.

``main_probe.py`` writes the token from
``generate_rest_api_authorization_token()`` to the file named by
``"TokenFile"`` (mode 0600) while it initializes; this test process, an
ordinary urllib client, sends it verbatim as the Authorization header.
"""

import base64
import os
import stat

import pytest
from conftest import assert_clean_exit, require_orthanc, sdk_server

pytestmark = pytest.mark.orthanc

USER, PASSWORD = "probe", "probe-password"


def test_token_opens_the_rest_api(tmp_path) -> None:
    require_orthanc()
    token_file = tmp_path / "token"
    server = sdk_server(
        "main_probe.py",
        section={"TestOutput": str(tmp_path), "TokenFile": str(token_file)},
        config={
            "AuthenticationEnabled": True,
            "RegisteredUsers": {USER: PASSWORD},
        },
    )
    basic = "Basic " + base64.b64encode(f"{USER}:{PASSWORD}".encode()).decode()
    with server:
        token = token_file.read_text(encoding="utf-8")
        assert stat.S_IMODE(os.stat(token_file).st_mode) == 0o600
        assert token.startswith("Bearer ")
        assert len(token) > len("Bearer ") + 16

        for path in ("/system", "/statistics", "/probe/config"):
            assert server.get(path).status == 401, path
            answer = server.get(path, headers={"Authorization": token})
            assert answer.status == 200, (path, answer.text)
        answer = server.get("/system", headers={"Authorization": basic})
        assert answer.status == 200
        # A token that is not the plugin's is refused.
        forged = token[:-4] + ("AAAA" if token[-4:] != "AAAA" else "BBBB")
        answer = server.get("/system", headers={"Authorization": forged})
        assert answer.status == 401

        log = server.log()
    assert_clean_exit(server, server.process.returncode)
    secret = token.split(" ", 1)[1]
    assert secret not in log
    assert secret not in server.log()
