"""meetbridge: a self-hostable service that gives a business a complete Zoom integration."""

__version__ = "0.1.0"
