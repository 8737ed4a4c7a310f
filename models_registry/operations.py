"""The registry's part of the project-wide operations (backoffice.core.ops.app_hooks)."""

from __future__ import annotations

import os


def bootstrap(report) -> None:
    from django.conf import settings
    from django.contrib.auth.models import Group

    group = Group.objects.filter(name="Model manager").first()
    count = group.permissions.count() if group else 0
    report("OK" if count else "FAIL", "group Model manager", f"{count} permission(s)")
    path = settings.MODEL_STORAGE_DIR
    try:
        path.mkdir(parents=True, exist_ok=True)
        writable = os.access(path, os.W_OK)
    except OSError as exc:
        writable, path = False, f"{path} ({exc.strerror})"
    report(
        "OK" if writable else "FAIL",
        "MODEL_STORAGE_DIR",
        f"{path} {'writable' if writable else 'NOT writable'}",
    )
