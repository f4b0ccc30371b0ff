"""The project's one REST API base layer, shared by every app's ``api`` package."""
