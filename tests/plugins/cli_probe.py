# SPDX-License-Identifier: GPL-3.0-or-later
"""Plugin run by ``python -m orthanc_sdk run`` in tests/test_cli.py."""

from typing import Any

import orthanc_sdk


def settings(request: orthanc_sdk.Request) -> dict[str, Any]:
    context = orthanc_sdk.current_context()
    return {
        "section": context.configuration["OrthancSdk"],
        "name": context.configuration["Name"],
    }


def initialize(context: orthanc_sdk.Context) -> None:
    context.register_rest_callback("/cli-probe", settings)
    print("cli_probe: initialized")
