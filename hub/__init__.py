"""OneNet Hub: one event backbone and one set of correlation rules for a city's departments."""

__version__ = "0.1.0"
