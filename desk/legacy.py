"""Import of the old file storage's CSV files and of snapshot CSV files.

Every row is validated (the models' own rules and JSON schemas), errors name the file,
line, field and reason, and a run commits everything or nothing. Importing the same
files again changes nothing.
"""

from __future__ import annotations

import csv
import json
import re
from dataclasses import dataclass, field
from decimal import Decimal
from functools import partial
from pathlib import Path

from django.core.exceptions import ValidationError
from django.db import models, transaction

from desk.domain.limits import EDITABLE_LIMITS
from desk.models import SNAPSHOT_MODELS, LegacySetting, RiskConfig, Strategy
from desk.services import risk_config_update

JSON_FIELDS = {
    "allowed_symbols",
    "session_windows",
    "entry_conditions",
    "exit_rules",
    "forbidden_conditions",
    "risk_caps",
    "watchlist",
    "symbols",
}
SETTINGS_FILES = ("accounts", "api_integrations", "appearance", "rss_feeds")
# Columns that hold credentials: never imported into the database (nor logged).
SECRET_COLUMN = re.compile(r"(?i)(key|secret|token|password|passphrase|credential)")


class LegacyImportFailed(Exception):
    def __init__(self, message: str, errors: list[str]):
        self.errors = errors
        super().__init__(message)


@dataclass
class LegacyReport:
    lines: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    dropped_secrets: set[str] = field(default_factory=set)


def _rows(path: Path):
    try:
        with path.open(encoding="utf-8-sig", newline="") as handle:
            reader = csv.DictReader(handle)
            if not reader.fieldnames:
                raise LegacyImportFailed(f"{path.name}: the file is empty", [])
            for row in reader:
                yield reader.line_num, {k.strip(): (v or "").strip() for k, v in row.items() if k}
    except UnicodeDecodeError as exc:
        raise LegacyImportFailed(f"{path.name}: not UTF-8 text ({exc.reason})", []) from None


def _value(field_name: str, raw: str):
    if field_name in JSON_FIELDS:
        if not raw:
            return [] if field_name != "exit_rules" and field_name != "risk_caps" else {}
        if raw.lstrip()[:1] in "[{":
            return json.loads(raw, parse_float=Decimal)
        return [part.strip().upper() for part in re.split(r"[;|,]", raw) if part.strip()]
    return raw


def _bool(raw: str) -> bool:
    if raw.lower() in {"1", "true", "yes", "on"}:
        return True
    if raw.lower() in {"0", "false", "no", "off", ""}:
        return False
    raise ValueError(f"{raw!r} is not a boolean")


def _validation_messages(exc: ValidationError) -> list[tuple[str, str]]:
    if hasattr(exc, "message_dict"):
        return [(name, "; ".join(msgs)) for name, msgs in exc.message_dict.items()]
    return [("(row)", "; ".join(exc.messages))]


def import_strategies(path: Path, report: LegacyReport) -> None:
    names = {f.name for f in Strategy._meta.fields} - {"id", "created_at", "updated_at"}
    created = updated = unchanged = 0
    for line, row in _rows(path):
        unknown = set(row) - names
        if unknown:
            report.errors.append(f"{path.name} line {line}: unknown column(s) {sorted(unknown)}")
            continue
        try:
            values = {k: _value(k, v) for k, v in row.items() if k != "name"}
            if "is_active" in values:
                values["is_active"] = _bool(values["is_active"])
            if values.get("rr_expectation") == "":
                values["rr_expectation"] = None
        except (ValueError, json.JSONDecodeError) as exc:
            report.errors.append(f"{path.name} line {line}: {exc}")
            continue
        strategy = Strategy.objects.filter(name=row.get("name", "")).first() or Strategy(
            name=row.get("name", "")
        )
        before = {k: getattr(strategy, k) for k in values} if strategy.pk else None
        for key, value in values.items():
            setattr(strategy, key, value)
        try:
            strategy.full_clean(validate_unique=strategy.pk is None)
        except ValidationError as exc:
            report.errors.extend(
                f"{path.name} line {line}: {name}: {message}"
                for name, message in _validation_messages(exc)
            )
            continue
        if before is None:
            created += 1
        elif before == {k: getattr(strategy, k) for k in values}:
            unchanged += 1
            continue
        else:
            updated += 1
        strategy.save()
    report.lines.append(f"strategies: {created} created, {updated} updated, {unchanged} unchanged")


def import_risk_config(path: Path, report: LegacyReport, *, reason: str = "") -> None:
    rows = list(_rows(path))
    if len(rows) != 1:
        report.errors.append(f"{path.name}: expected exactly one row, found {len(rows)}")
        return
    line, row = rows[0]
    changes = {}
    for name, raw in row.items():
        if name == "last_halt_reason":
            continue
        if name not in EDITABLE_LIMITS:
            report.errors.append(f"{path.name} line {line}: {name}: unknown column")
            continue
        model_field = RiskConfig._meta.get_field(name)
        try:
            if isinstance(model_field, models.BooleanField):
                changes[name] = _bool(raw)
            elif name == "watchlist":
                changes[name] = _value("watchlist", raw)
            else:
                changes[name] = model_field.to_python(raw)
        except (ValueError, ValidationError) as exc:
            message = "; ".join(exc.messages) if isinstance(exc, ValidationError) else str(exc)
            report.errors.append(f"{path.name} line {line}: {name}: {message}")
    if report.errors:
        return
    from desk.services import DeskError

    try:
        risk_config_update(
            changes=changes,
            actor="import_legacy_csv",
            reason=reason or f"imported from the old platform's {path.name}",
        )
    except DeskError as exc:
        report.errors.append(f"{path.name} line {line}: {exc}")
        return
    report.lines.append(f"risk config: {len(changes)} limit(s) read")


def import_settings(path: Path, category: str, report: LegacyReport) -> None:
    created = updated = 0
    for line, row in _rows(path):
        key = row.get("name") or row.get("key") or row.get("id")
        if not key:
            report.errors.append(f"{path.name} line {line}: needs a name, key or id column")
            continue
        value = {}
        for column, raw in row.items():
            if SECRET_COLUMN.search(column):
                report.dropped_secrets.add(f"{path.name}:{column}")
                continue
            value[column] = raw
        _, was_created = LegacySetting.objects.update_or_create(
            category=category, key=key[:200], defaults={"value": value}
        )
        created += was_created
        updated += not was_created
    report.lines.append(f"{category}: {created} created, {updated} refreshed")


@transaction.atomic
def import_legacy_dir(directory: Path, *, reason: str = "") -> LegacyReport:
    """Import every known file of the old storage found in ``directory``; all or nothing.
    ``reason`` goes into the risk config's audit (default: the file it came from)."""
    if not directory.is_dir():
        raise LegacyImportFailed(f"{directory} is not a directory", [])
    report = LegacyReport()
    found = False
    importers = (
        ("strategies", import_strategies),
        ("risk_config", partial(import_risk_config, reason=reason)),
    )
    for stem, importer in importers:
        path = directory / f"{stem}.csv"
        if path.exists():
            found = True
            importer(path, report)
        else:
            report.lines.append(f"{stem}: no {path.name}, skipped")
    for stem in SETTINGS_FILES:
        path = directory / f"{stem}.csv"
        if path.exists():
            found = True
            import_settings(path, stem, report)
    if not found:
        raise LegacyImportFailed(f"{directory} holds none of the legacy CSV files", [])
    if report.errors:
        transaction.set_rollback(True)
        raise LegacyImportFailed(
            f"{len(report.errors)} problem(s); nothing was imported", report.errors
        )
    return report


# -- snapshots --------------------------------------------------------------------------


@transaction.atomic
def import_snapshots(kind: str, path: Path, *, skip_invalid: bool = False) -> tuple[int, int, list]:
    """Load snapshot rows of ``kind`` from CSV; returns (rows, created, errors)."""
    model = SNAPSHOT_MODELS.get(kind)
    if model is None:
        raise LegacyImportFailed(
            f"unknown snapshot kind {kind!r}: {', '.join(SNAPSHOT_MODELS)}", []
        )
    names = {f.name for f in model._meta.fields} - {"id"}
    instances, errors, rows = [], [], 0
    for line, row in _rows(path):
        rows += 1
        unknown = set(row) - names
        if unknown:
            raise LegacyImportFailed(f"line 1: unknown column(s) {sorted(unknown)}", [])
        try:
            values = {
                k: (_value(k, v) if k in JSON_FIELDS else (v or None)) for k, v in row.items()
            }
            instance = model(**{k: v for k, v in values.items() if v is not None})
            instance.full_clean(validate_unique=False, validate_constraints=False)
        except ValidationError as exc:
            errors.extend(f"line {line}: {n}: {m}" for n, m in _validation_messages(exc))
            continue
        except (ValueError, json.JSONDecodeError) as exc:
            errors.append(f"line {line}: {exc}")
            continue
        instances.append(instance)
    if errors and not skip_invalid:
        raise LegacyImportFailed(f"{len(errors)} invalid value(s); nothing was imported", errors)
    before = model.objects.count()
    model.objects.bulk_create(instances, batch_size=2000, ignore_conflicts=True)
    return rows, model.objects.count() - before, errors
