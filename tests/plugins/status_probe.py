# SPDX-License-Identifier: GPL-3.0-or-later
"""A route that answers the HTTP status it is asked for.

``GET /status/{n}`` answers ``Response("body", status=n)``, so that a test
can compare what a real Orthanc sends with the fake core's answer.
"""

import orthanc_sdk


def answer(request: orthanc_sdk.Request) -> orthanc_sdk.Response:
    return orthanc_sdk.Response("body", status=int(request.groups[0]))


def initialize(context: orthanc_sdk.Context) -> None:
    context.register_rest_callback("/status/([0-9]+)", answer)
