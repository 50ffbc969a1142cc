"""recoup: find the money Amazon owes an FBA seller, claim it, and track it to the money."""

__version__ = "0.1.0"
