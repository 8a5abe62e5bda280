"""The package version, read by the build backend."""

__version__ = "0.1.0"
"""The version of kling_async, e.g. ``"0.1.0"``."""
