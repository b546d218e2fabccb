"""Command line: ``python -m orthanc_sdk run|config|plugin-path|version``.

``run plugin.py`` starts the installed Orthanc on 127.0.0.1 with the shim
plugin and the script, writes its configuration, streams its log to
standard output and stops it on Ctrl-C (or SIGTERM); ``config plugin.py``
prints the configuration that ``run`` would write.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import sys
import threading
import time
from typing import TYPE_CHECKING, Any

import orthanc_sdk

if TYPE_CHECKING:
    from orthanc_sdk.server import OrthancServer

# Orthanc's own default port: what a newcomer's browser and curl expect.
DEFAULT_HTTP_PORT = 8042

_POLL_SECONDS = 0.2


class _UsageError(Exception):
    """Bad command-line input: reported in one line, exit status 2."""


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m orthanc_sdk",
        description="Tools for Orthanc plugins written with orthanc_sdk.",
    )
    commands = parser.add_subparsers(dest="command", required=True)

    for name, text in (
        (
            "run",
            "run Orthanc with the shim plugin and a plugin script, on"
            " 127.0.0.1, streaming its log; Ctrl-C stops it",
        ),
        (
            "config",
            "print the Orthanc configuration (JSON) that 'run' would use",
        ),
    ):
        command = commands.add_parser(name, help=text, description=text)
        command.add_argument("script", help="the plugin script (a .py file)")
        command.add_argument(
            "--http-port",
            type=int,
            default=DEFAULT_HTTP_PORT,
            metavar="N",
            help=f"HTTP port (default {DEFAULT_HTTP_PORT}; 0 picks a free"
            " one)",
        )
        command.add_argument(
            "--storage",
            metavar="DIR",
            help="folder for Orthanc's database and files, kept across"
            " runs (default for run: a temporary folder, deleted at exit;"
            " for config: left out, so Orthanc uses its own default)",
        )
        command.add_argument(
            "--config",
            metavar="EXTRA.json",
            help="a JSON object merged over the configuration (its"
            ' "OrthancSdk" section with the plugin\'s, its "Plugins"'
            " before the shim)",
        )
    run = commands.choices["run"]
    run.add_argument(
        "--verbose",
        action="store_true",
        help="pass --verbose to Orthanc: info-level records (logging.info"
        " in the plugin) reach the log",
    )
    run.add_argument(
        "--timeout",
        type=float,
        default=60.0,
        metavar="SECONDS",
        help="how long to wait for Orthanc to answer (default 60)",
    )

    commands.add_parser(
        "plugin-path",
        help="print the absolute path of the shim plugin for Orthanc's"
        ' "Plugins" option',
    )
    commands.add_parser("version", help="print the package and SDK versions")
    return parser


def _extra_config(path: str | None) -> dict[str, Any]:
    if path is None:
        return {}
    try:
        with open(path, encoding="utf-8") as f:
            extra = json.load(f)
    except OSError as error:
        raise _UsageError(f"--config: cannot read {path}: {error}") from None
    except ValueError as error:
        raise _UsageError(f"--config: {path} is not JSON: {error}") from None
    if not isinstance(extra, dict):
        raise _UsageError(f"--config: {path} must hold a JSON object")
    section = extra.get("OrthancSdk", {})
    if not isinstance(section, dict):
        raise _UsageError(f'--config: "OrthancSdk" in {path} is no object')
    plugins = extra.get("Plugins", [])
    if not isinstance(plugins, list):
        raise _UsageError(f'--config: "Plugins" in {path} is no list')
    return extra


def _server(
    args: argparse.Namespace, *, orthanc: str | None = None
) -> OrthancServer:
    from orthanc_sdk.server import free_port
    from orthanc_sdk.testing.orthanc import plugin_server

    script = os.path.abspath(args.script)
    if not os.path.isfile(script):
        raise _UsageError(f"the plugin script {script} does not exist")
    if not 0 <= args.http_port <= 65535:
        raise _UsageError(f"--http-port {args.http_port} is not a TCP port")
    extra = _extra_config(args.config)
    section = extra.pop("OrthancSdk", {})
    port = args.http_port or free_port()
    return plugin_server(
        script,
        section=section,
        config=extra,
        storage=args.storage,
        http_port=port,
        arguments=["--verbose"] if getattr(args, "verbose", False) else [],
        orthanc=orthanc,
    )


def _config(args: argparse.Namespace) -> int:
    # Printing needs no Orthanc binary.
    config = _server(args, orthanc="Orthanc").configuration()
    if args.storage is None:
        del config["StorageDirectory"], config["IndexDirectory"]
    try:
        print(json.dumps(config, indent=2), flush=True)
    except BrokenPipeError:
        # "config ... | head": the reader left early, which is no error;
        # stdout goes to /dev/null so that exit does not report it again.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
    return 0


class _LogStream(threading.Thread):
    """Copies Orthanc's log file to standard output as it grows."""

    def __init__(self, path: str) -> None:
        super().__init__(name="orthanc log", daemon=True)
        self.path = path
        self.done = threading.Event()

    def run(self) -> None:
        out = sys.stdout.buffer
        while not os.path.exists(self.path):
            # Orthanc may write its log and exit within one poll (a plugin
            # that fails at start-up takes about 0.2 s): look once more.
            if self.done.wait(_POLL_SECONDS) and not os.path.exists(self.path):
                return
        with open(self.path, "rb") as log:
            while True:
                # Read the end once more after "done", then stop.
                finished = self.done.is_set()
                chunk = log.read()
                if chunk:
                    out.write(chunk)
                    out.flush()
                if finished:
                    return
                self.done.wait(_POLL_SECONDS)

    def finish(self) -> None:
        self.done.set()
        self.join(5.0)


def _interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt


def _run(args: argparse.Namespace) -> int:
    import tempfile

    from orthanc_sdk.server import OrthancStartError

    server = _server(args)
    with tempfile.TemporaryDirectory(prefix="orthanc-sdk-run-") as folder:
        server.log_path = os.path.join(folder, "orthanc.log")
        stream = _LogStream(server.log_path)
        stream.start()
        # SIGINT too: a shell starts background jobs with it ignored.
        signal.signal(signal.SIGTERM, _interrupt)
        signal.signal(signal.SIGINT, _interrupt)
        try:
            return _serve(server, args)
        except OrthancStartError as error:
            stream.finish()
            reason = str(error).split("\n", 1)[0]
            print(f"orthanc_sdk: {reason}", file=sys.stderr)
            return 1
        except KeyboardInterrupt:
            print("orthanc_sdk: stopping Orthanc", file=sys.stderr)
            status = server.stop()
            stream.finish()
            return 0 if status == 0 else 1
        finally:
            server.stop()
            stream.finish()


def _serve(server: OrthancServer, args: argparse.Namespace) -> int:
    server.start(timeout=args.timeout)
    storage = args.storage or "a temporary folder, deleted at exit"
    print(
        f"orthanc_sdk: Orthanc answers on {server.url}/ with"
        f" {os.path.abspath(args.script)}; storage: {storage}. Ctrl-C"
        " stops it.",
        file=sys.stderr,
        flush=True,
    )
    while server.process is not None and server.process.poll() is None:
        time.sleep(_POLL_SECONDS)
    status = server.stop()
    print(f"orthanc_sdk: Orthanc exited with status {status}", file=sys.stderr)
    return 0 if status == 0 else 1


def main(argv: list[str] | None = None) -> int:
    """Run the command line; returns the exit status."""
    args = _parser().parse_args(argv)

    try:
        if args.command == "run":
            return _run(args)
        if args.command == "config":
            return _config(args)
    except (_UsageError, FileNotFoundError) as error:
        # FileNotFoundError: no Orthanc; the message names the package.
        prefix = f"python -m orthanc_sdk {args.command}"
        print(f"{prefix}: {error}", file=sys.stderr)
        return 2
    if args.command == "plugin-path":
        print(orthanc_sdk.plugin_path())
    else:
        sdk = ".".join(map(str, orthanc_sdk.SDK_VERSION))
        print(f"orthanc_sdk {orthanc_sdk.__version__}, built on SDK {sdk}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
