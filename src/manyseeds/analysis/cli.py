"""Command-line entry points of the analysis stage."""


def register(subparsers) -> None:
    """Add this stage's subcommands (none yet)."""
