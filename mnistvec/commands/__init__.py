"""What each CLI subcommand does, kept apart from option parsing (`mnistvec/cli.py`)."""
