"""`python -m zo_sweep`: the sweep application (see zo_sweep.sweep.app)."""

from zo_sweep.sweep.app import main

if __name__ == "__main__":
    main()
