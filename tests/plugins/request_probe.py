# SPDX-License-Identifier: GPL-3.0-or-later
"""A route that answers the request it was given.

``GET /request/{anything}`` answers the URL, the groups and the GET
arguments as the route saw them, so that a test can compare what a real
Orthanc passes a route with what the fake core passes it.
"""

import orthanc_sdk


def echo(request: orthanc_sdk.Request) -> object:
    return {
        "url": request.url,
        "groups": list(request.groups),
        "get": request.get,
    }


def initialize(context: orthanc_sdk.Context) -> None:
    context.register_rest_callback("/request/(.*)", echo)
