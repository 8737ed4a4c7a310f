"""Pins behind their series' newest release, from PyPI's project data (make audit).

pip-audit asks PyPI's per-release advisory data; where that cannot be reached (it
answers 404 on some mirrors and build machines), this is the fallback the audit still
gives: for every pinned package, the newest release of the same major.minor series,
and the advisories PyPI lists for the newest release of the project. A pin behind its
series' newest patch release may miss security fixes; it is reported, and the script
exits 1 so that someone looks. Standard library only.

Run: python scripts/audit_pins.py requirements.txt requirements-dev.txt
"""

from __future__ import annotations

import json
import re
import sys
import urllib.error
import urllib.request
from pathlib import Path

PIN = re.compile(r"^\s*([A-Za-z0-9_.-]+)(?:\[[^\]]*\])?==([^\s;#]+)")
FINAL = re.compile(r"^\d+(\.\d+)*$")  # no pre-releases, dev or post releases


def pins(paths: list[Path]) -> dict[str, str]:
    found: dict[str, str] = {}
    for path in paths:
        for line in path.read_text().splitlines():
            match = PIN.match(line)
            if match:
                found[match.group(1).lower()] = match.group(2)
    return found


def _key(version: str) -> tuple[int, ...]:
    return tuple(int(part) for part in version.split("."))


def newest_in_series(releases: list[str], pinned: str) -> str | None:
    series = pinned.split(".")[:2]
    same = [v for v in releases if FINAL.match(v) and v.split(".")[:2] == series]
    return max(same, key=_key) if same else None


def project(name: str) -> dict:
    with urllib.request.urlopen(f"https://pypi.org/pypi/{name}/json", timeout=30) as answer:
        return json.load(answer)


def main(argv: list[str]) -> int:
    wanted = pins([Path(arg) for arg in argv or ["requirements.txt"]])
    behind, unknown, advisories = [], [], []
    for name, pinned in sorted(wanted.items()):
        try:
            data = project(name)
        except (urllib.error.URLError, TimeoutError, ValueError) as exc:
            unknown.append(f"{name}=={pinned}: PyPI did not answer ({exc})")
            continue
        releases = [v for v, files in data.get("releases", {}).items() if files]
        newest = newest_in_series(releases, pinned) if FINAL.match(pinned) else None
        if newest and _key(newest) > _key(pinned):
            behind.append(f"{name}=={pinned}: {newest} is out in the same series")
        for vuln in data.get("vulnerabilities") or []:
            if not vuln.get("withdrawn"):
                advisories.append(
                    f"{name} (latest {data['info']['version']}): {vuln.get('id')} "
                    f"fixed in {', '.join(vuln.get('fixed_in') or ['?'])}"
                )
    print(f"checked {len(wanted)} pins against PyPI's project data")
    for title, lines in (
        ("behind their series' newest release", behind),
        ("advisories PyPI lists for the newest release", advisories),
        ("not checked", unknown),
    ):
        print(f"{title}: {len(lines)}")
        for line in lines:
            print(f"  {line}")
    return 1 if behind or advisories or unknown else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
