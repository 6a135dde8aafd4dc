"""The package version, in one place (the scaffolded CI pins it)."""

__version__ = "0.1.0"
