# SPDX-License-Identifier: GPL-3.0-or-later
"""A real Orthanc with the shim and a plugin script, and DICOM uploads."""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping
from typing import Any

from .. import plugin_path
from ..server import OrthancServer

__all__ = ["DicomSource", "plugin_server", "upload_dicom"]

#: What :func:`upload_dicom` takes: a file, a folder (its files, at any
#: depth) or the bytes of a DICOM file.
DicomSource = str | os.PathLike[str] | bytes


def plugin_server(
    script: str | os.PathLike[str],
    *,
    section: Mapping[str, Any] | None = None,
    config: Mapping[str, Any] | None = None,
    **kwargs: Any,
) -> OrthancServer:
    """An :class:`~orthanc_sdk.server.OrthancServer` that runs ``script``.

    The server is not started: use it as a context manager, or call
    ``start()`` and ``stop()``.  It listens on a free port of 127.0.0.1,
    keeps its storage in a temporary folder unless ``storage=`` is given,
    and loads the shim plugin of this installation.

    Args:
        script: the plugin script (made absolute).
        section: more keys of the ``"OrthancSdk"`` section, for the
            plugin's own settings.
        config: other configuration keys (merged over the defaults).
        kwargs: passed to :class:`~orthanc_sdk.server.OrthancServer`
            (``storage``, ``http_port``, ``env``, ...).

    Raises:
        FileNotFoundError: ``script`` does not exist, or Orthanc is not
            installed (the message names the Debian package).
    """
    path = os.path.abspath(script)
    if not os.path.isfile(path):
        raise FileNotFoundError(f"the plugin script {path} does not exist")

    merged = dict(config or {})
    merged["OrthancSdk"] = {**(section or {}), "Script": path}
    plugins = [*merged.pop("Plugins", []), plugin_path()]
    return OrthancServer(plugins=plugins, config=merged, **kwargs)


def _contents(sources: Iterable[DicomSource]) -> Iterable[tuple[str, bytes]]:
    for source in sources:
        if isinstance(source, bytes):
            yield "<bytes>", source
        elif os.path.isdir(source):
            for root, dirs, files in os.walk(source):
                dirs.sort()
                for name in sorted(files):
                    path = os.path.join(root, name)
                    with open(path, "rb") as f:
                        yield path, f.read()
        else:
            with open(source, "rb") as f:
                yield os.fspath(source), f.read()


def upload_dicom(server: OrthancServer, *sources: DicomSource) -> list[str]:
    """Store DICOM files in Orthanc; return their instance ids, in order.

    Args:
        server: a started server.
        sources: files, folders (every file in them) or file contents.

    Raises:
        ValueError: Orthanc refused one (its status and answer are in the
            message); what came before it is stored.
        OSError: a file could not be read, or Orthanc not reached.
    """
    ids: list[str] = []
    for name, content in _contents(sources):
        answer = server.post(
            "/instances",
            content,
            headers={"Content-Type": "application/dicom"},
        )
        if answer.status != 200:
            raise ValueError(
                f"Orthanc refused {name} with status {answer.status}:"
                f" {answer.text[:300]}"
            )
        parsed = answer.json()
        for item in parsed if isinstance(parsed, list) else [parsed]:
            ids.append(item["ID"])
    return ids
