"""Entrypoint of a step's RayJob: ``python -m components.remote STEP STAGING_URI``.

The submitting KFP component staged the step's run folder under ``STAGING_URI/in``; this
runs the step on the Ray cluster the RayJob created (or was pointed at) and stages the
outputs under ``STAGING_URI/out`` for the component to fetch.
"""

from __future__ import annotations

import sys


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if len(args) != 2:
        print("usage: python -m components.remote STEP STAGING_URI", file=sys.stderr)
        return 2
    from components.glue import run_remote_step

    run_remote_step(args[0], args[1])
    return 0


if __name__ == "__main__":
    sys.exit(main())
