"""`python -m mnistvec` runs the command line (`torchrun -m mnistvec train ...` starts it this way)."""

from mnistvec.cli import main

if __name__ == "__main__":
    main()
