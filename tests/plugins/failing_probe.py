# SPDX-License-Identifier: GPL-3.0-or-later
"""A plugin whose initialize() raises: Orthanc must refuse to start."""

import orthanc_sdk


def initialize(context: orthanc_sdk.Context) -> None:
    raise RuntimeError("failing_probe refuses to start")
