# SPDX-License-Identifier: GPL-3.0-or-later
"""A ``multiprocessing`` pool whose workers call Orthanc's REST API by HTTP.

``POST /pool/sha256`` with a JSON list of instance ids answers the SHA-256
of each instance's file, computed in worker processes.  A worker is another
process: it has no plugin context, so it talks HTTP to Orthanc, with the
token from ``generate_rest_api_authorization_token()`` as its
``Authorization`` header, which Orthanc accepts even with authentication
on.

The pool uses the ``spawn`` start method: forking Orthanc, a process full of
threads, is unsafe.  Each worker imports this script as a module (the
script's folder is on ``sys.path``), so keep its top level free of side
effects.  The pool starts at the first request and is closed by
``finalize()``.
"""

from __future__ import annotations

import hashlib
import json
import multiprocessing
import multiprocessing.pool
import threading
import urllib.request
from typing import Any

import orthanc_sdk
from orthanc_sdk import Context, Request, Response

WORKERS = 2

_pool: multiprocessing.pool.Pool | None = None
_pool_lock = threading.Lock()


def _worker_setup(base_url: str, token: str) -> None:
    # Runs once in each worker: what its requests need.
    global _base_url, _token
    _base_url, _token = base_url, token


_base_url = ""
_token = ""


def instance_sha256(instance_id: str) -> str:
    """In a worker: fetch ``/instances/{id}/file`` by HTTP and hash it."""
    request = urllib.request.Request(
        f"{_base_url}/instances/{instance_id}/file",
        headers={"Authorization": _token},
    )
    # No proxy: the request goes to 127.0.0.1.
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    with opener.open(request, timeout=30) as answer:
        return hashlib.sha256(answer.read()).hexdigest()


def _get_pool(context: Context) -> multiprocessing.pool.Pool:
    global _pool
    with _pool_lock:
        if _pool is None:
            port = context.configuration.get("HttpPort", 8042)
            token = context.generate_rest_api_authorization_token()
            spawn = multiprocessing.get_context("spawn")
            _pool = spawn.Pool(
                WORKERS,
                initializer=_worker_setup,
                initargs=(f"http://127.0.0.1:{port}", token),
            )
        return _pool


def hash_instances(request: Request) -> dict[str, Any] | Response:
    """``POST /pool/sha256``: the SHA-256 of each instance's file."""
    try:
        ids = json.loads(request.body)
    except ValueError:
        ids = None
    if not isinstance(ids, list) or not all(isinstance(i, str) for i in ids):
        return Response("expected a JSON list of instance ids", status=400)
    pool = _get_pool(orthanc_sdk.current_context())
    return dict(zip(ids, pool.map(instance_sha256, ids), strict=True))


def initialize(context: Context) -> None:
    """Register ``POST /pool/sha256``."""
    context.register_rest_callback("/pool/sha256", hash_instances)


def finalize() -> None:
    """Close the pool, while Orthanc still answers its last requests."""
    global _pool
    with _pool_lock:
        pool, _pool = _pool, None
    if pool is not None:
        pool.close()
        pool.join()
