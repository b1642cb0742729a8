"""The ``urtraining`` command (DESIGN.md §5).

Commands stay thin: each parses its options and calls one stage function. Bad input leaves
through :class:`UsageError` (or a known error type) as one line on stderr and exit code 2.
"""

from __future__ import annotations

import json
import sys

import typer

from urtraining.errors import UsageError, known_errors

app = typer.Typer(
    name="urtraining",
    help="UrTraining ML: course recommender and image-to-tracker.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)


@app.command()
def schema(name: str = typer.Argument(..., help="UserProfile, Course, Ranking, TrackerEntry, ...")):
    """Print the JSON Schema of a data contract."""
    from urtraining.domain import SCHEMA_MODELS

    if name not in SCHEMA_MODELS:
        raise UsageError(f"unknown schema {name!r}; choose one of {', '.join(SCHEMA_MODELS)}")
    print(json.dumps(SCHEMA_MODELS[name].model_json_schema(), indent=2))


# --- commands contributed by subpackages: each module defines typed functions, registered here
# (keep each line's imports light: heavy libraries are imported inside the functions).


def main() -> None:
    try:
        app(standalone_mode=False)
    except known_errors() as exc:
        print(f"urtraining: error: {exc}", file=sys.stderr)
        sys.exit(2)
    except KeyboardInterrupt:
        print("urtraining: interrupted", file=sys.stderr)
        sys.exit(130)


if __name__ == "__main__":
    main()
