# SPDX-License-Identifier: GPL-3.0-or-later
"""Run a real Orthanc server in a child process, for tests and demos.

This module uses the standard library only, so that it can be imported
before the cffi extension is built and without the shim plugin.

Each :class:`OrthancServer` runs the Orthanc binary once, on 127.0.0.1,
with a JSON configuration written to a temporary directory, HTTP on a
free high port and the DICOM server off. Orthanc 1.10 has no option to
bind HTTP to a single address: it listens on every interface, and
``"RemoteAccessAllowed": false`` is what refuses clients that are not
local. The child is stopped by its PID only (``SIGTERM``, then
``SIGKILL``).

Example::

    with OrthancServer() as orthanc:
        print(orthanc.get("/system").json()["Version"])
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from email.message import Message
from typing import Any, Self

__all__ = [
    "HttpResponse",
    "OrthancServer",
    "OrthancStartError",
    "find_orthanc",
    "free_port",
]

DEBIAN_ORTHANC = "/usr/sbin/Orthanc"

# How much of the log an OrthancStartError quotes.
_LOG_TAIL_LINES = 60

_POLL_INTERVAL = 0.1


def find_orthanc() -> str:
    """Return the path of the Orthanc executable.

    The Debian package's binary is preferred; otherwise ``Orthanc`` is
    looked up on ``PATH``.

    Raises:
        FileNotFoundError: no Orthanc executable was found.
    """
    if os.access(DEBIAN_ORTHANC, os.X_OK):
        return DEBIAN_ORTHANC

    found = shutil.which("Orthanc")
    if found is None:
        raise FileNotFoundError(
            f"Orthanc was found neither at {DEBIAN_ORTHANC} nor on PATH: "
            "install the Debian package 'orthanc' (apt-get install orthanc)"
        )
    return found


def free_port() -> int:
    """Return a TCP port on 127.0.0.1 that is free at the time of the call.

    The port is only reserved while this function runs: another process
    may take it before Orthanc binds it. With ports picked by the kernel
    from its ephemeral range, this race is rare enough for tests.
    """
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port


class OrthancStartError(RuntimeError):
    """Orthanc exited, or did not answer, while it was starting.

    Attributes:
        returncode: the exit status of Orthanc, or ``None`` when it was
            killed because it did not answer in time.
        log: the whole log of the failed run.
    """

    def __init__(self, message: str, returncode: int | None, log: str) -> None:
        tail = "\n".join(log.splitlines()[-_LOG_TAIL_LINES:])
        super().__init__(f"{message}\n--- last lines of the log ---\n{tail}")
        self.returncode = returncode
        self.log = log


@dataclass
class HttpResponse:
    """An HTTP answer from Orthanc, whatever its status.

    Attributes:
        status: the HTTP status code.
        headers: the answer's headers, with lower-case names; repeated
            headers are joined with ``", "``.
        body: the raw body.
    """

    status: int
    headers: dict[str, str] = field(default_factory=dict)
    body: bytes = b""

    @property
    def text(self) -> str:
        """The body decoded as UTF-8 (undecodable bytes are replaced)."""
        return self.body.decode("utf-8", errors="replace")

    def json(self) -> Any:
        """Parse the body as JSON.

        Raises:
            ValueError: the body is not JSON.
        """
        return json.loads(self.body)


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    # A test client should see the 3xx Orthanc sends (for instance "/"
    # redirects to the Explorer) rather than the page it points to.
    def redirect_request(self, *args: object) -> None:
        return None


# An empty ProxyHandler: an http_proxy variable in the environment must
# not send requests for 127.0.0.1 to a proxy.
_OPENER = urllib.request.build_opener(
    urllib.request.ProxyHandler({}), _NoRedirect()
)


class OrthancServer:
    """An Orthanc child process with its own configuration and storage.

    An instance runs Orthanc once: to restart on the same data, create a
    new instance with the same ``storage``. Use it as a context manager,
    or call :meth:`start` and :meth:`stop` (idempotent); garbage
    collection stops a forgotten server as a last resort only.

    Args:
        plugins: paths of the plugins to load (made absolute).
        config: keys merged over the default configuration (a shallow
            merge: a caller may override any key, ``HttpPort`` included,
            but ``url`` always uses ``http_port``).
        storage: directory for ``StorageDirectory`` and
            ``IndexDirectory``. It is kept at :meth:`stop`, so another
            server can reuse it. When ``None``, a temporary directory is
            used and removed at :meth:`stop`.
        http_port: HTTP port; a free port when ``None``.
        env: variables added to (or overriding) this process's
            environment for Orthanc.
        orthanc: the Orthanc executable; :func:`find_orthanc` when
            ``None``.
        log_path: where Orthanc's stdout and stderr go; kept at
            :meth:`stop`. When ``None``, a file in the temporary
            directory, whose text :meth:`log` still returns after
            :meth:`stop` removed it.
        arguments: command-line options for Orthanc (e.g.
            ``["--verbose"]``), before the configuration file.
    """

    # Class-level sentinels, so that stop() and __del__ work on an
    # instance whose __init__ or start() failed half-way.
    process: subprocess.Popen[bytes] | None = None
    config_path: str | None = None
    _tempdir: str | None = None
    _final_log: str | None = None

    def __init__(
        self,
        *,
        plugins: Sequence[str | os.PathLike[str]] = (),
        config: Mapping[str, Any] | None = None,
        storage: str | os.PathLike[str] | None = None,
        http_port: int | None = None,
        env: Mapping[str, str] | None = None,
        orthanc: str | None = None,
        log_path: str | os.PathLike[str] | None = None,
        arguments: Sequence[str] = (),
    ) -> None:
        if isinstance(plugins, (str, os.PathLike)):
            raise TypeError("plugins must be a sequence of paths")

        self.orthanc = orthanc if orthanc is not None else find_orthanc()
        self.plugins = [os.path.abspath(p) for p in plugins]
        self.extra_config = dict(config or {})
        self.http_port = http_port if http_port is not None else free_port()
        # Set even though the DICOM server is off, so that a caller who
        # enables it does not collide on the default port 4242.
        self.dicom_port = free_port()
        self.env = dict(env or {})
        self.storage = None if storage is None else os.path.abspath(storage)
        self._own_log = log_path is None
        self.log_path = None if log_path is None else os.path.abspath(log_path)
        self.arguments = list(arguments)

    # -- life cycle --------------------------------------------------------

    def start(self, timeout: float = 30.0) -> Self:
        """Run Orthanc and wait until ``GET /system`` answers.

        The answer is 200, or 401 when ``AuthenticationEnabled`` is true
        (the probe sends no credentials).

        Args:
            timeout: seconds to wait for Orthanc to answer.

        Returns:
            ``self``, so that ``server = OrthancServer().start()`` works.

        Raises:
            OrthancStartError: Orthanc exited during start-up, or did not
                answer within ``timeout`` (it is then killed).
            RuntimeError: this instance was already started.
        """
        process = self._spawn()

        deadline = time.monotonic() + timeout
        while True:
            returncode = process.poll()
            if returncode is not None:
                self._fail("Orthanc exited during start-up", returncode)
            if self._answers():
                return self
            if time.monotonic() > deadline:
                self._kill()
                self._fail(f"Orthanc did not answer within {timeout:g} s")
            time.sleep(_POLL_INTERVAL)

    def stop(self, timeout: float = 20.0) -> int:
        """Stop Orthanc with ``SIGTERM`` and remove the temporary files.

        Calling it again, or on a server never started, does nothing and
        returns the same status (0 when Orthanc never ran).

        Args:
            timeout: seconds to wait for Orthanc to exit before it is
                killed.

        Returns:
            The exit status (negative for a signal, as in
            :class:`subprocess.Popen`).

        Raises:
            RuntimeError: Orthanc ignored ``SIGTERM`` and was killed; the
                temporary files are removed first.
        """
        process = self.process
        if process is None or process.returncode is not None:
            self._cleanup()
            return self._status()

        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout)
        except subprocess.TimeoutExpired:
            self._kill()
            self._cleanup()
            raise RuntimeError(
                f"Orthanc (pid {process.pid}) did not exit within "
                f"{timeout:g} s of SIGTERM and was killed"
            ) from None

        self._cleanup()
        return self._status()

    def wait_exit(self, timeout: float) -> int:
        """Wait for Orthanc to exit by itself, starting it if needed.

        Meant for runs where Orthanc should refuse to start (a bad
        configuration, a plugin that fails to initialize): unlike
        :meth:`start`, it does not wait for the HTTP server.

        Args:
            timeout: seconds to wait for the exit.

        Returns:
            The exit status.

        Raises:
            TimeoutError: Orthanc was still running after ``timeout``; it
                has been stopped as by :meth:`stop`.
            RuntimeError: as for :meth:`stop`, when Orthanc then ignored
                ``SIGTERM`` too.
        """
        process = self.process if self.process is not None else self._spawn()

        try:
            process.wait(timeout)
        except subprocess.TimeoutExpired:
            self.stop()
            raise TimeoutError(
                f"Orthanc (pid {process.pid}) was still running after "
                f"{timeout:g} s"
            ) from None

        self._cleanup()
        return self._status()

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    def __del__(self) -> None:
        # A backstop only: a server left running would outlive the tests.
        process = self.process
        if process is not None and process.returncode is None:
            # Raising from __del__ would only print a warning; a kill
            # that fails here has nothing better to fall back on.
            try:
                process.kill()
                process.wait(5)
            except (OSError, subprocess.TimeoutExpired):
                pass
        self._cleanup()

    # -- information -------------------------------------------------------

    def configuration(self) -> dict[str, Any]:
        """The configuration Orthanc gets: the defaults, then ``config``.

        Before :meth:`start`, a server without ``storage`` has ``None``
        for ``StorageDirectory`` and ``IndexDirectory``: the temporary
        folder is made when Orthanc starts.
        """
        config = self._default_config()
        config.update(self.extra_config)
        return config

    @property
    def url(self) -> str:
        """The base URL, ``http://127.0.0.1:<port>``."""
        return f"http://127.0.0.1:{self.http_port}"

    @property
    def pid(self) -> int:
        """The PID of the Orthanc process.

        Raises:
            RuntimeError: Orthanc was not started.
        """
        if self.process is None:
            raise RuntimeError("Orthanc was not started")
        return self.process.pid

    def log(self) -> str:
        """Return Orthanc's log so far (undecodable bytes are replaced)."""
        if self._final_log is not None:
            return self._final_log
        if self.log_path is None:
            return ""
        try:
            with open(self.log_path, "rb") as f:
                return f.read().decode("utf-8", errors="replace")
        except FileNotFoundError:
            return ""

    # -- HTTP --------------------------------------------------------------

    def request(
        self,
        method: str,
        path: str,
        body: bytes | str | dict[str, Any] | list[Any] | None = None,
        headers: Mapping[str, str] | None = None,
        timeout: float = 30.0,
    ) -> HttpResponse:
        """Send one HTTP request to Orthanc and return its answer.

        An error status (4xx, 5xx) is returned, not raised, and redirects
        are not followed. A ``dict`` or ``list`` body is sent as JSON, a
        ``str`` as UTF-8 text; a ``Content-Type`` in ``headers`` wins.

        Args:
            method: the HTTP method, e.g. ``"GET"``.
            path: the path below :attr:`url`, starting with ``/``; it may
                carry a query string.
            body: the request body.
            headers: extra request headers.
            timeout: seconds before the connection gives up.

        Raises:
            ValueError: ``path`` does not start with ``/``.
            OSError: Orthanc could not be reached (``urllib.error.URLError``
                is a subclass), or did not answer within ``timeout``.
        """
        if not path.startswith("/"):
            raise ValueError(f"path must start with '/': {path!r}")

        data, content_type = _encode_body(body)
        if data is None and method.upper() in ("POST", "PUT"):
            # Sends "Content-Length: 0" rather than no length at all.
            data = b""
        request = urllib.request.Request(
            self.url + path, data=data, method=method.upper()
        )
        if content_type is not None:
            request.add_header("Content-Type", content_type)
        for name, value in (headers or {}).items():
            request.add_header(name, value)

        try:
            with _OPENER.open(request, timeout=timeout) as answer:
                return _response(answer.status, answer.headers, answer.read())
        except urllib.error.HTTPError as error:
            with error:
                return _response(error.code, error.headers, error.read())

    def get(self, path: str, **kwargs: Any) -> HttpResponse:
        """``request("GET", path, ...)``."""
        return self.request("GET", path, **kwargs)

    def post(
        self,
        path: str,
        body: bytes | str | dict[str, Any] | list[Any] | None = None,
        **kwargs: Any,
    ) -> HttpResponse:
        """``request("POST", path, body, ...)``."""
        return self.request("POST", path, body, **kwargs)

    def put(
        self,
        path: str,
        body: bytes | str | dict[str, Any] | list[Any] | None = None,
        **kwargs: Any,
    ) -> HttpResponse:
        """``request("PUT", path, body, ...)``."""
        return self.request("PUT", path, body, **kwargs)

    def delete(self, path: str, **kwargs: Any) -> HttpResponse:
        """``request("DELETE", path, ...)``."""
        return self.request("DELETE", path, **kwargs)

    def upload(
        self, paths: Iterable[str | os.PathLike[str]]
    ) -> list[dict[str, Any]]:
        """Store files in Orthanc with ``POST /instances``.

        Files that Orthanc refuses (any status but 200, e.g. 400 for a
        file that is not DICOM) are skipped. A ZIP archive, which Orthanc
        answers with a list, contributes one entry per stored instance.

        Args:
            paths: the files to send.

        Returns:
            Orthanc's answers (``ID``, ``Status``, ...) for the accepted
            files, in order.

        Raises:
            OSError: a file could not be read, or Orthanc not reached.
        """
        stored: list[dict[str, Any]] = []
        for path in paths:
            with open(path, "rb") as f:
                content = f.read()

            answer = self.post(
                "/instances",
                content,
                headers={"Content-Type": "application/dicom"},
            )

            if answer.status != 200:
                continue
            parsed = answer.json()
            if isinstance(parsed, list):
                stored.extend(parsed)
            else:
                stored.append(parsed)
        return stored

    # -- internals ---------------------------------------------------------

    def _default_config(self) -> dict[str, Any]:
        return {
            "Name": "orthanc_sdk",
            "HttpPort": self.http_port,
            "DicomServerEnabled": False,
            "DicomPort": self.dicom_port,
            "RemoteAccessAllowed": False,
            "AuthenticationEnabled": False,
            "StorageDirectory": self.storage,
            "IndexDirectory": self.storage,
            "Plugins": list(self.plugins),
            # Timeout of the HTTP requests that Orthanc itself sends.
            "HttpTimeout": 10,
            # Tests wait for StableStudy and friends: the default of
            # 60 s would make them crawl.
            "StableAge": 2,
            "KeepAlive": True,
            "HttpDescribeErrors": True,
            "LuaScripts": [],
            "ConcurrentJobs": 2,
        }

    def _spawn(self) -> subprocess.Popen[bytes]:
        if self.process is not None:
            raise RuntimeError(
                "this OrthancServer was already started; create a new one "
                "to restart Orthanc"
            )

        self._tempdir = tempfile.mkdtemp(prefix="orthanc-sdk-")
        try:
            if self.storage is None:
                self.storage = os.path.join(self._tempdir, "storage")
            if self.log_path is None:
                self.log_path = os.path.join(self._tempdir, "orthanc.log")
            os.makedirs(self.storage, exist_ok=True)

            config = self.configuration()
            self.config_path = os.path.join(self._tempdir, "orthanc.json")
            with open(self.config_path, "w", encoding="utf-8") as f:
                json.dump(config, f, indent=2)

            env = dict(os.environ)
            env.update(self.env)
            with open(self.log_path, "wb") as log:
                # A new session keeps a Ctrl-C in the terminal from
                # reaching Orthanc before the test's own clean-up runs.
                process = subprocess.Popen(
                    [self.orthanc, *self.arguments, self.config_path],
                    stdin=subprocess.DEVNULL,
                    stdout=log,
                    stderr=subprocess.STDOUT,
                    env=env,
                    start_new_session=True,
                )
        except BaseException:
            self._cleanup()
            raise
        self.process = process
        return process

    def _answers(self) -> bool:
        # Orthanc opens its HTTP port once its plugins are loaded: any
        # answer of /system means it has started.  With authentication
        # on, an anonymous request gets 401.
        try:
            return self.get("/system", timeout=1.0).status in (200, 401)
        except OSError:
            return False

    def _kill(self) -> None:
        process = self.process
        if process is not None and process.returncode is None:
            process.kill()
            process.wait()

    def _fail(self, message: str, returncode: int | None = None) -> None:
        self._cleanup()
        if returncode is not None:
            message += f" with status {returncode}"
        raise OrthancStartError(
            f"{message} ({self.orthanc}, HTTP port {self.http_port})",
            returncode,
            self.log(),
        )

    def _status(self) -> int:
        if self.process is None:
            return 0
        return self.process.returncode

    def _cleanup(self) -> None:
        # Keep the log readable after its temporary file is gone.
        if self._tempdir is None:
            return
        if self._own_log:
            self._final_log = self.log()
        shutil.rmtree(self._tempdir, ignore_errors=True)
        self._tempdir = None


def _encode_body(
    body: bytes | str | dict[str, Any] | list[Any] | None,
) -> tuple[bytes | None, str | None]:
    if body is None:
        return None, None
    if isinstance(body, (bytes, bytearray, memoryview)):
        return bytes(body), "application/octet-stream"
    if isinstance(body, str):
        return body.encode("utf-8"), "text/plain; charset=utf-8"
    if isinstance(body, (dict, list)):
        return json.dumps(body).encode("utf-8"), "application/json"
    raise TypeError(f"unsupported body type: {type(body).__name__}")


def _response(status: int, headers: Message, body: bytes) -> HttpResponse:
    merged: dict[str, str] = {}
    for name, value in headers.items():
        key = name.lower()
        merged[key] = f"{merged[key]}, {value}" if key in merged else value
    return HttpResponse(status, merged, body)
