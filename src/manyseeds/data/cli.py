"""Command-line entry points of the data stage."""


def register(subparsers) -> None:
    """Add this stage's subcommands (none yet)."""
