"""Command-line entry points of the models stage."""


def register(subparsers) -> None:
    """Add this stage's subcommands (none yet)."""
