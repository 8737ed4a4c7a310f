"""The predict path: a request's way from the API (or the short path) to a model and back."""
