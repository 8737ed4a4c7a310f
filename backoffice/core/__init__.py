"""The shared layer every app builds on: errors, settings helpers, logging, middleware, health,
metrics, formatting, forms, the admin site, the API contract (api/) and the database layer (db/).
It imports no app (import-linter: setup.cfg)."""
