"""Build script: the cffi module, the buffer type and the shim plugin.

Everything else is in pyproject.toml.  Building needs C and C++ compilers, the
Python headers, a shared libpython (for the shim, which embeds it) and the
Orthanc SDK header (Debian package ``orthanc-dev``).
"""

import os
import runpy
import sys
import sysconfig

from setuptools import Extension, setup

# The cffi builder finds the SDK header (or explains how to get it); the
# shim needs the same folders.
BUILDER = runpy.run_path(os.path.join("orthanc_sdk", "_build.py"))


def libpython_flags() -> list[str]:
    """Linker flags that make the shim depend on this Python's libpython."""
    libdir = sysconfig.get_config_var("LIBDIR") or ""
    version = sysconfig.get_config_var("LDVERSION") or ""
    multiarch = sysconfig.get_config_var("MULTIARCH") or ""
    name = f"libpython{version}.so"
    folders = [libdir, os.path.join("/usr/lib", multiarch)]
    if not any(os.path.exists(os.path.join(f, name)) for f in folders):
        raise RuntimeError(
            f"{name} was not found in {' or '.join(folders)}: the shim"
            " plugin embeds Python and needs a shared libpython (on Debian,"
            " apt-get install libpython3-dev; with pyenv, build Python with"
            ' PYTHON_CONFIGURE_OPTS="--enable-shared")'
        )
    # -lstdc++: invoke_guard.cpp catches C++ exceptions.
    flags = [f"-lpython{version}", "-ldl", "-lstdc++"]
    if libdir:
        # pyenv and other private installs keep libpython off the default
        # search path.
        flags[:0] = [f"-L{libdir}", f"-Wl,-rpath,{libdir}"]
    return flags


def c_string(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


# Built as an extension for its compiler flags, but an Orthanc plugin, not a
# Python module: it exports only the four OrthancPlugin* entry points.
shim = Extension(
    "orthanc_sdk.libOrthancSdkShim",
    sources=["shim/shim.c", "shim/invoke_guard.cpp"],
    include_dirs=BUILDER["include_dirs"](),
    # The interpreter to embed: the one running this build, which is the
    # one (or the virtual environment) the package is installed into.
    define_macros=[
        ("ORTHANC_SDK_PYTHON", c_string(os.path.abspath(sys.executable)))
    ],
    extra_compile_args=["-fvisibility=hidden", "-Wall", "-Wextra"],
    extra_link_args=libpython_flags(),
)

# The Buffer type and the C path of the hot Context calls, which make the
# SDK's inline calls themselves: they need the header too.
memory = Extension(
    "orthanc_sdk._memory",
    sources=["orthanc_sdk/_memory.c"],
    include_dirs=BUILDER["include_dirs"](),
    extra_compile_args=["-Wall", "-Wextra"],
)

setup(
    ext_modules=[memory, shim],
    # The shim's embedded interpreter is a compiler define, which setuptools
    # does not see change: a build folder left by an install into another
    # environment would hand over a shim that starts the wrong Python.
    options={"build_ext": {"force": True}},
    cffi_modules=[
        "orthanc_sdk/_build.py:ffibuilder",
        # The fake core of orthanc_sdk.testing, from the same header.
        "orthanc_sdk/testing/_fakecore_build.py:ffibuilder",
    ],
)
