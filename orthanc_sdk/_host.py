"""The Python half of the shim plugin (``shim/shim.c``).

The shim starts the interpreter, then calls :func:`initialize` with the
``OrthancPluginContext *`` as an integer and, at shutdown, :func:`finalize`.
Both run with the GIL held, on Orthanc's main thread, and never raise: a
failure is logged (with its traceback) in Orthanc's log and reported to the
shim by the return value.

The plugin script is named by Orthanc's configuration::

    "OrthancSdk": { "Script": "plugin.py" }

A relative path is taken from the folder of Orthanc's configuration file (or
from the configuration folder, when Orthanc was given a folder).

Shutdown: when Orthanc signals ``ORTHANC_STOPPED`` (its first step in
stopping, while the REST API and the database still work), the script's
``finalize()`` runs, then the context is closed: from then on every SDK
call raises :class:`~orthanc_sdk.ContextClosedError`, which tells the
plugin's own threads to end.  The core would otherwise tear its database
down under their calls.  The shim's ``OrthancPluginFinalize`` then ends
Python, unless threads of the plugin still run.
"""

from __future__ import annotations

import importlib.util
import logging
import os
import sys
import threading
import time
import traceback
import types

from . import callbacks
from ._orthanc_sdk_cffi import ffi, lib
from .context import Context

logger = logging.getLogger("orthanc_sdk")

SECTION = "OrthancSdk"

_context: Context | None = None
_module: types.ModuleType | None = None
_handler: logging.Handler | None = None
_finalized_script = False

# How long closing waits for SDK calls in flight; then for the plugin's
# threads to end once their calls raise ContextClosedError.
_CLOSE_TIMEOUT = 5.0
_THREADS_TIMEOUT = 2.0


class OrthancLogHandler(logging.Handler):
    """Sends ``logging`` records to Orthanc's log at the matching level."""

    def __init__(self, context: Context) -> None:
        super().__init__()
        self.context = context

    def emit(self, record: logging.LogRecord) -> None:
        try:
            self.context.log(record.levelno, self.format(record))
        except Exception:
            self.handleError(record)


def current_context() -> Context:
    """The plugin's :class:`Context`, anywhere in a running plugin.

    Raises:
        RuntimeError: not inside Orthanc, or the plugin has been finalized.
    """
    if _context is None or _context.closed:
        raise RuntimeError(
            "no Orthanc plugin context: current_context() works only inside"
            " Orthanc, in a script loaded by the orthanc_sdk shim plugin"
        )
    return _context


def _log_error(pointer: object, text: str) -> None:
    # Used before logging is routed, and for what must reach the log even
    # if logging is broken.
    lib.OrthancPluginLogError(pointer, text.encode("utf-8", "replace"))


def _script_path(context: Context) -> str:
    section = context.configuration.get(SECTION)
    if not isinstance(section, dict) or not isinstance(
        section.get("Script"), str
    ):
        raise RuntimeError(
            f'the configuration has no "{SECTION}" section with a "Script"'
            f' (e.g. "{SECTION}": {{"Script": "/path/to/plugin.py"}})'
        )
    script: str = section["Script"]
    if not os.path.isabs(script):
        text = context._take_string(
            lib.OrthancPluginGetConfigurationPath(context.pointer)
        )
        base = text or os.getcwd()
        if not os.path.isdir(base):
            base = os.path.dirname(base)
        script = os.path.join(base, script)
    script = os.path.abspath(script)
    if not os.path.isfile(script):
        raise FileNotFoundError(
            f'{SECTION}.Script: the plugin script "{script}" does not exist'
        )
    return script


def _load(path: str) -> types.ModuleType:
    name = os.path.splitext(os.path.basename(path))[0]
    if name in sys.modules:
        raise ImportError(
            f'the plugin script "{path}" is named like the module "{name}"'
            " that is already imported; rename the script"
        )
    sys.path.insert(0, os.path.dirname(path))
    sys.argv = [path]
    spec = importlib.util.spec_from_file_location(name, path)
    if spec is None or spec.loader is None:
        raise ImportError(f'cannot load the plugin script "{path}"')
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    try:
        spec.loader.exec_module(module)
    except BaseException:
        del sys.modules[name]
        raise
    return module


def initialize(address: int) -> int:
    """Load and start the plugin script; 0 on success, -1 on failure."""
    global _context, _module, _handler
    pointer = ffi.cast("OrthancPluginContext *", address)
    try:
        context = Context(address)
        _handler = OrthancLogHandler(context)
        _handler.setFormatter(logging.Formatter("%(name)s: %(message)s"))
        root = logging.getLogger()
        root.addHandler(_handler)
        if root.level == logging.NOTSET or root.level > logging.INFO:
            root.setLevel(logging.INFO)
        _context = context

        script = _script_path(context)
        logger.warning(
            "Python %s, SDK %d.%d.%d, script %s",
            sys.version.split()[0],
            lib.ORTHANC_PLUGINS_MINIMAL_MAJOR_NUMBER,
            lib.ORTHANC_PLUGINS_MINIMAL_MINOR_NUMBER,
            lib.ORTHANC_PLUGINS_MINIMAL_REVISION_NUMBER,
            script,
        )
        # Registered before the script runs, so that ORTHANC_STOPPED
        # closes the context even if the script has no on-change handler.
        callbacks.change_dispatcher(context)
        callbacks.on_orthanc_stopped = _stop
        _module = _load(script)
        hook = getattr(_module, "initialize", None)
        if callable(hook):
            hook(context)
        return 0
    except BaseException:
        _log_error(
            pointer,
            "orthanc_sdk: the Python plugin failed to start, Orthanc will"
            " not start:\n" + traceback.format_exc(),
        )
        return -1


def _finalize_script() -> None:
    """Run the script's ``finalize()``, once."""
    global _finalized_script
    if _finalized_script:
        return
    _finalized_script = True
    try:
        hook = getattr(_module, "finalize", None)
        if callable(hook):
            hook()
    except BaseException:
        logger.exception("the plugin's finalize() failed")


def _stop() -> None:
    """ORTHANC_STOPPED: finalize the script, then close the context."""
    context = _context
    if context is None:
        return
    _finalize_script()
    if not context.close(timeout=_CLOSE_TIMEOUT):
        _log_error(
            context.pointer,
            "orthanc_sdk: SDK calls still running when Orthanc stopped",
        )


def _running_threads(timeout: float) -> list[str]:
    """Names of the plugin's non-daemon threads left after ``timeout``."""
    deadline = time.monotonic() + timeout
    main = threading.main_thread()
    for thread in threading.enumerate():
        if thread is not main and not thread.daemon:
            thread.join(max(0.0, deadline - time.monotonic()))
    return [
        t.name
        for t in threading.enumerate()
        if t is not main and not t.daemon and t.is_alive()
    ]


def finalize() -> int:
    """Finish what ORTHANC_STOPPED did not (the script, the context).

    Returns 1 when the interpreter can be finalized, 0 when threads that
    the plugin started are still running (finalizing would wait for them
    forever, so the shim leaves the interpreter to the process's exit).
    """
    context = _context
    if context is None:
        return 1
    try:
        # Orthanc stopped without ORTHANC_STOPPED (e.g. it failed after
        # the plugins were loaded): do it here.
        _finalize_script()
        if not callbacks.stop_changes(timeout=10.0):
            _log_error(
                context.pointer,
                "orthanc_sdk: on-change handlers still running at shutdown",
            )
        if not context.close(timeout=_CLOSE_TIMEOUT):
            _log_error(
                context.pointer,
                "orthanc_sdk: SDK calls still running at shutdown",
            )
        # Threads that end on ContextClosedError get a moment to do so;
        # what they log meanwhile still reaches Orthanc.
        left = _running_threads(_THREADS_TIMEOUT)
        if _handler is not None:
            logging.getLogger().removeHandler(_handler)
        # The core goes away after this function: nothing reaches it now.
        context.close(timeout=_CLOSE_TIMEOUT, detach=True)
        if left:
            _log_error(
                context.pointer,
                "orthanc_sdk: threads still running at shutdown, left to"
                f" the process's exit: {', '.join(left)}",
            )
            return 0
        return 1
    except BaseException:
        _log_error(context.pointer, traceback.format_exc())
        return 0
