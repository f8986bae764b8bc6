"""Where the tuning databases are, and moving them: one file for every device's database, for a fleet.

One MetaSchedule database per device and target (CACHE/tuning/<device>/<target hash>/), shared by every
workload and kept across commits; its `provenance.json` says who tuned what with which TVM.

Tested with real MetaSchedule records in tests/engine/test_tuning.py.
"""

from __future__ import annotations

import hashlib
import os
import platform
import shutil
import tarfile
from pathlib import Path

from bot.devices import Device
from bot.engine.boards.host import host_cpu
from bot.errors import BadExport


def database_dir(cache_dir: Path, device: Device) -> Path:
    """Where the device's database is: one per device and target (a host's own CPU counts as part of it)."""
    target = device.target_json
    if device.target == "host":
        target += platform.machine() + host_cpu()
    target_hash = hashlib.sha256(target.encode()).hexdigest()[:12]
    return Path(cache_dir) / "tuning" / device.name / target_hash


#: The device whose database an emulated board borrows: this host's own CPU.
HOST = Device(name="local", description="this host", arch=platform.machine(), target="host")


def database_for(cache_dir: Path, device: Device) -> Path:
    """The database a device's tuned items apply: its own, or for an emulated board the host's (for
    correctness only: an emulated latency is never judged, and nothing is tuned under emulation)."""
    return database_dir(cache_dir, HOST if device.emulated else device)


def has_records(cache_dir: Path, device: Device) -> bool:
    """Whether the device has a database to apply (its tuned rows can then be measured)."""
    return (database_for(cache_dir, device) / "database_tuning_record.json").is_file()


def databases(cache_dir: Path) -> list[dict]:
    """Every device's database: device, folder, number of records, provenance (oldest tuning first)."""
    import json

    rows = []
    for folder in sorted((Path(cache_dir) / "tuning").glob("*/*")):
        records = folder / "database_tuning_record.json"
        if not folder.is_dir() or folder.name.endswith((".work", ".old")) or not records.is_file():
            continue
        provenance = folder / "provenance.json"
        rows.append(
            {
                "device": folder.parent.name,
                "folder": folder,
                "records": sum(1 for line in records.read_text().splitlines() if line.strip()),
                "provenance": json.loads(provenance.read_text()) if provenance.is_file() else [],
            }
        )
    return rows


def replace(work: Path, database: Path) -> None:
    """A finished copy becomes the database; the old one goes (a rename each way, then a delete)."""
    old = database.with_name(database.name + ".old")
    shutil.rmtree(old, ignore_errors=True)
    if database.exists():
        os.replace(database, old)
    os.replace(work, database)
    shutil.rmtree(old, ignore_errors=True)


def export_databases(cache_dir: Path, out: Path) -> list[str]:
    """Every device's database (with its provenance) in one .tar.gz; returns the devices in it."""
    root = Path(cache_dir) / "tuning"
    found = sorted(p for p in root.glob("*/*") if p.is_dir() and not p.name.endswith((".work", ".old")))
    out = Path(out)
    tmp = out.with_name(out.name + ".partial")
    with tarfile.open(tmp, "w:gz") as archive:
        for folder in found:
            archive.add(folder, arcname=str(folder.relative_to(root)))
    os.replace(tmp, out)
    return sorted({p.parent.name for p in found})


def import_databases(cache_dir: Path, archive_path: Path) -> list[str]:
    """Unpack an export into the cache, replacing the databases it holds; returns their folders.

    Refuses (BadExport, before anything is replaced) anything that is not an export: members
    outside device/target/ folders, unsafe paths, a folder without its database.
    """
    root = Path(cache_dir) / "tuning"
    try:
        archive = tarfile.open(archive_path, "r:gz")
    except (OSError, tarfile.TarError) as e:
        raise BadExport(f"{archive_path}: not a perfbot tuning export ({e})") from None
    with archive:
        members = archive.getmembers()
        tops = set()
        for member in members:
            parts = Path(member.name).parts
            if (
                member.name.startswith("/")
                or ".." in parts
                or len(parts) < 2
                or not (member.isdir() or member.isfile())
            ):
                raise BadExport(f"{archive_path}: {member.name!r} is not part of a perfbot tuning export")
            tops.add(Path(*parts[:2]))
        staging = root / ".import"
        shutil.rmtree(staging, ignore_errors=True)
        staging.mkdir(parents=True)
        archive.extractall(staging, members=members, filter="data")
    for top in sorted(tops):
        if not (staging / top / "database_tuning_record.json").is_file():
            shutil.rmtree(staging, ignore_errors=True)
            raise BadExport(f"{archive_path}: {top} has no database_tuning_record.json")
        (root / top).parent.mkdir(parents=True, exist_ok=True)
        replace(staging / top, root / top)
    shutil.rmtree(staging, ignore_errors=True)
    return [str(t) for t in sorted(tops)]
