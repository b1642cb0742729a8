"""Errors that reach a user as one line (CLI exit 2, HTTP 400/413), never a traceback."""

from __future__ import annotations


class UsageError(ValueError):
    """Bad input from the user: a missing file, an invalid profile, a missing run stage."""


class PayloadTooLarge(UsageError):
    """A body, an image or a pixel count above the configured limit (HTTP 413)."""


class UpstreamUnavailable(UsageError):
    """A model server we call is unreachable or keeps failing: not the caller's fault, and
    worth a retry (HTTP 503; on the command line one line and exit 2 like any other error)."""


def known_errors() -> tuple[type[BaseException], ...]:
    """The exception types the CLI turns into a one-line message and exit code 2."""
    import click
    from pydantic import ValidationError

    from urtraining.config import ConfigError
    from urtraining.io import RecordError

    return (
        UsageError,
        ConfigError,
        RecordError,
        ValidationError,
        FileNotFoundError,
        click.exceptions.ClickException,
    )
