"""Command line: ``python -m orthanc_sdk plugin-path|version``."""

from __future__ import annotations

import argparse
import sys

import orthanc_sdk


def main(argv: list[str] | None = None) -> int:
    """Run the command line; returns the exit status."""
    parser = argparse.ArgumentParser(
        prog="python -m orthanc_sdk",
        description="Tools for Orthanc plugins written with orthanc_sdk.",
    )
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser(
        "plugin-path",
        help="print the absolute path of the shim plugin for Orthanc's"
        ' "Plugins" option',
    )
    commands.add_parser("version", help="print the package and SDK versions")
    args = parser.parse_args(argv)

    if args.command == "plugin-path":
        print(orthanc_sdk.plugin_path())
    else:
        sdk = ".".join(map(str, orthanc_sdk.SDK_VERSION))
        print(f"orthanc_sdk {orthanc_sdk.__version__}, built on SDK {sdk}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
