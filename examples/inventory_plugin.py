"""An Orthanc plugin in Python: an inventory of what the archive holds.

``GET /inventory`` walks every stored instance and, for each, checks what the
SDK's "Orthanc" group says about it:

* its DICOM identifiers lead back to it through the five lookups;
* ``get_dicom_for_instance`` hands over the file without a copy (it is
  hashed straight from Orthanc's memory);
* ``call_rest_api`` reads the tags with a request header.

The answer counts patients, studies and modalities, lists the character sets
met, and says what the lookups answered.  An on-change handler counts new
instances in a global property, which survives restarts.

Configuration (Orthanc's JSON)::

    "Plugins": ["<python -m orthanc_sdk plugin-path>"],
    "OrthancSdk": {"Script": "examples/inventory_plugin.py"}
"""

from __future__ import annotations

import collections
import hashlib
import logging
import threading
from typing import Any

import orthanc_sdk
from orthanc_sdk import ChangeType, Context, Request, ResourceType

logger = logging.getLogger("inventory")

#: Where the count of new instances is kept (plugins use 1024 and above).
NEW_INSTANCES_PROPERTY = 5301

_count_lock = threading.Lock()


def _tag(tags: dict[str, Any], name: str) -> str:
    value = tags.get(name, "")
    return value if isinstance(value, str) else ""


def _check_lookups(
    context: Context, instance: dict[str, Any], tags: dict[str, Any]
) -> dict[str, Any]:
    """What each lookup answers for this instance's own identifiers.

    "itself": the lookup found this instance's resource; "none": Orthanc
    answered not found, which it does when several resources share the
    identifier once normalised (case folded, non-ASCII dropped); "empty":
    the file has no such identifier; "other": another resource (a bug).
    """
    series = context.rest_api_get(f"/series/{instance['ParentSeries']}").json()
    study = context.rest_api_get(f"/studies/{series['ParentStudy']}").json()
    checks = [
        (
            "patient",
            context.lookup_patient,
            "PatientID",
            study["ParentPatient"],
        ),
        (
            "study",
            context.lookup_study,
            "StudyInstanceUID",
            series["ParentStudy"],
        ),
        (
            "accession",
            context.lookup_study_with_accession_number,
            "AccessionNumber",
            series["ParentStudy"],
        ),
        (
            "series",
            context.lookup_series,
            "SeriesInstanceUID",
            instance["ParentSeries"],
        ),
        (
            "instance",
            context.lookup_instance,
            "SOPInstanceUID",
            instance["ID"],
        ),
    ]
    outcome = {}
    for level, lookup, tag, expected in checks:
        identifier = _tag(tags, tag)
        if not identifier:
            outcome[level] = "empty"
            continue
        found = lookup(identifier)
        if found is None:
            outcome[level] = "none"
        else:
            outcome[level] = "itself" if found == expected else "other"
    return outcome


def inventory(request: Request) -> dict[str, Any]:
    """``GET /inventory``: what the archive holds, checked through the SDK."""
    context = orthanc_sdk.current_context()
    patients: set[str] = set()
    studies: set[str] = set()
    modalities: collections.Counter[str] = collections.Counter()
    charsets: collections.Counter[str] = collections.Counter()
    lookups: dict[str, collections.Counter[str]] = collections.defaultdict(
        collections.Counter
    )
    total_bytes = 0
    digest = hashlib.sha256()

    instance_ids = context.rest_api_get("/instances").json()
    for instance_id in sorted(instance_ids):
        instance = context.rest_api_get(f"/instances/{instance_id}").json()
        answer = context.call_rest_api(
            "GET",
            f"/instances/{instance_id}/simplified-tags",
            headers={"Accept": "application/json"},
        )
        with answer.body as body:
            tags = body.json()
        patients.add(_tag(tags, "PatientID"))
        studies.add(_tag(tags, "StudyInstanceUID"))
        modalities[_tag(tags, "Modality") or "?"] += 1
        charsets[_tag(tags, "SpecificCharacterSet") or "(default)"] += 1

        for level, outcome in _check_lookups(context, instance, tags).items():
            lookups[level][outcome] += 1

        # Zero-copy: hashlib reads Orthanc's own memory.
        with context.get_dicom_for_instance(instance_id) as dicom:
            total_bytes += len(dicom)
            digest.update(memoryview(dicom))

    return {
        "instances": len(instance_ids),
        "patients": len(patients),
        "studies": len(studies),
        "bytes": total_bytes,
        "sha256_of_all_files": digest.hexdigest(),
        "modalities": dict(modalities.most_common()),
        "character_sets": dict(charsets.most_common()),
        "lookups": {level: dict(c) for level, c in lookups.items()},
        "new_instances_seen": int(
            context.get_global_property(NEW_INSTANCES_PROPERTY, "0")
        ),
        "orthanc_version": context.orthanc_version,
    }


def on_change(change: ChangeType, resource: ResourceType, _id: str) -> None:
    """Counts new instances in a global property."""
    if change == ChangeType.ORTHANC_STARTED:
        logger.warning("inventory plugin ready: GET /inventory")
    elif change == ChangeType.NEW_INSTANCE:
        context = orthanc_sdk.current_context()
        with _count_lock:
            seen = context.get_global_property(NEW_INSTANCES_PROPERTY, "0")
            context.set_global_property(
                NEW_INSTANCES_PROPERTY, str(int(seen) + 1)
            )


def initialize(context: Context) -> None:
    """Called by the shim once the script is loaded."""
    context.register_rest_callback("/inventory", inventory)
    context.register_on_change_callback(on_change)
