"""The engine: compile checked models to SQL, run them, and turn rows into warnings."""

__version__ = "0.1.0"
