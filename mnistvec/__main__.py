"""`python -m mnistvec` runs the command line (`torchrun -m mnistvec train ...` starts it this way)."""

from .cli import main

if __name__ == "__main__":
    main()
