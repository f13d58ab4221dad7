"""`python -m zo_sweep`: the sweep application (see zo_sweep.app)."""

from zo_sweep.app import main

if __name__ == "__main__":
    main()
