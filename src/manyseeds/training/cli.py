"""Command-line entry points of the training stage."""


def register(subparsers) -> None:
    """Add this stage's subcommands (none yet)."""
