"""The package version, in one place: the package, the CLI's --version and the HTML report read it here."""

__version__ = "0.1.0"
