"""Command-line entry points of the figures stage."""


def register(subparsers) -> None:
    """Add this stage's subcommands (none yet)."""
