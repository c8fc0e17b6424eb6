"""Command-line entry points of the behaviour stage."""


def register(subparsers) -> None:
    """Add this stage's subcommands (none yet)."""
