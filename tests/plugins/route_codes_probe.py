# SPDX-License-Identifier: GPL-3.0-or-later
"""A route that fails with the error code it is asked for.

``GET /route-codes/{code}`` raises ``OrthancError(code)``, so that a test
can compare the status a real Orthanc answers with the fake core's.
"""

import orthanc_sdk


def fail(request: orthanc_sdk.Request) -> object:
    code = int(request.groups[0])
    raise orthanc_sdk.OrthancError(
        orthanc_sdk.ErrorCode(code), "route_codes_probe"
    )


def initialize(context: orthanc_sdk.Context) -> None:
    context.register_rest_callback("/route-codes/([0-9]+)", fail)
