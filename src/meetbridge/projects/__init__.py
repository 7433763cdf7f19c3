"""Projects: named groups of meetings."""
