"""This app's endpoints under /api/v1/ (included by backoffice/urls.py)."""

urlpatterns: list = []
