"""The request's way through the project: middleware, the content security policy, the
client's address, the front door."""
