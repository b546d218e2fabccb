# SPDX-License-Identifier: GPL-3.0-or-later
"""An on-change handler that tags every new study in a global property.

Global properties are strings that Orthanc keeps in its database (they
survive restarts).  On each ``NEW_STUDY``, this plugin adds the study's id
to a JSON list kept in one property; ``GET /tagged-studies`` answers it.

The property's number comes from the configuration (plugins use 1024 and
above)::

    "OrthancSdk": {"Script": "tag_new_studies.py", "TagProperty": 5100}
"""

from __future__ import annotations

import json
import logging

import orthanc_sdk
from orthanc_sdk import ChangeType, Context, Request, ResourceType

logger = logging.getLogger("tag_new_studies")

DEFAULT_PROPERTY = 5100


def tag_property(context: Context) -> int:
    """The property that holds the list, from the "OrthancSdk" section."""
    number = context.configuration["OrthancSdk"].get(
        "TagProperty", DEFAULT_PROPERTY
    )
    if isinstance(number, bool) or not isinstance(number, int):
        raise TypeError("OrthancSdk.TagProperty must be an integer")
    return number


def tagged(context: Context) -> list[str]:
    """The ids tagged so far (an empty list before the first study)."""
    text = context.get_global_property(tag_property(context), "[]")
    studies = json.loads(text)
    if not isinstance(studies, list):
        raise ValueError("the tag property does not hold a JSON list")
    return [str(study) for study in studies]


def on_change(
    change: ChangeType, resource: ResourceType, resource_id: str
) -> None:
    """Tag ``NEW_STUDY`` events; the handlers run one at a time."""
    if change != ChangeType.NEW_STUDY:
        return
    context = orthanc_sdk.current_context()
    studies = tagged(context)
    if resource_id not in studies:
        studies.append(resource_id)
        context.set_global_property(tag_property(context), json.dumps(studies))
        logger.info("tagged study %s", resource_id)


def list_tagged(request: Request) -> list[str]:
    """``GET /tagged-studies``: the ids of the studies tagged."""
    return tagged(orthanc_sdk.current_context())


def initialize(context: Context) -> None:
    """Check the configuration, register the handler and the route."""
    tag_property(context)
    context.register_on_change_callback(on_change)
    context.register_rest_callback("/tagged-studies", list_tagged)
