"""Fixtures of the registry tests: a private artifact store per test, and personas.

Personas: ``staff`` (every registry permission, given one by one), ``model_manager``
(staff in the Model manager group of migration 0002, as production has them),
``viewer`` (staff who may only look), and ``operator`` (None: someone at the shell
with manage.py).
"""

import pytest
from django.contrib.auth.models import Group, Permission


@pytest.fixture(autouse=True)
def artifact_store(settings, tmp_path):
    settings.MODEL_STORAGE_DIR = tmp_path / "models"
    return settings.MODEL_STORAGE_DIR


@pytest.fixture
def staff(django_user_model):
    user = django_user_model.objects.create_user("mona", password="pw-mona-1", is_staff=True)
    user.user_permissions.set(Permission.objects.filter(content_type__app_label="models_registry"))
    return django_user_model.objects.get(pk=user.pk)  # fresh permission cache


@pytest.fixture
def viewer(django_user_model):
    user = django_user_model.objects.create_user("vic", password="pw-vic-1", is_staff=True)
    user.user_permissions.set(
        Permission.objects.filter(
            content_type__app_label="models_registry", codename__startswith="view_"
        )
    )
    return django_user_model.objects.get(pk=user.pk)


@pytest.fixture
def model_manager(django_user_model):
    user = django_user_model.objects.create_user("max", password="pw-max-1", is_staff=True)
    user.groups.add(Group.objects.get(name="Model manager"))
    return django_user_model.objects.get(pk=user.pk)
