"""pipeline: keeps the full history of live-streaming vendors' tasks in PostgreSQL."""

__version__ = "0.1.0"
