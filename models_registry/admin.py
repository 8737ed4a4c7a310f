"""Admin classes of this app arrive with its models."""
