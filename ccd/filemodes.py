"""Who may read the site: the daemon's user and group only, whatever the umask of the shell.

The database holds password hashes and every customer; recordings hold callers' voices; the
config may hold the trunk password. So every ccd process runs with umask 027 (`SITE_UMASK`, set
by the CLI before any command and by the daemon): folders it creates are 0750 and files 0640,
SQLite's -wal and -shm files included (SQLite gives them the database file's mode), and so are
backups and the recordings the media workers write (they inherit the umask). Secret files are
0600 (ccd/secrets.py refuses looser ones). `secure_site` also tightens what an older version or a careless copy left looser, and says
what it changed.
"""

from __future__ import annotations

import logging
import os
import stat
from pathlib import Path
from typing import Any

log = logging.getLogger("ccd.files")

SITE_UMASK = 0o027
DIR_MODE = 0o750
FILE_MODE = 0o640
SECRET_MODE = 0o600


def restrict_umask() -> int:
    """Set the process umask to SITE_UMASK (at least as strict as it was); returns the old one."""
    old = os.umask(SITE_UMASK)
    os.umask(old | SITE_UMASK)
    return old


def tighten(path: Path, mode: int) -> bool:
    """Remove permission bits beyond `mode` from `path` if it exists; True if it changed."""
    try:
        st = path.lstat()
    except FileNotFoundError:
        return False
    if stat.S_ISLNK(st.st_mode):
        return False
    current = stat.S_IMODE(st.st_mode)
    wanted = current & mode
    if wanted == current:
        return False
    os.chmod(path, wanted)
    return True


def site_paths(config: Any) -> tuple[list[Path], list[Path]]:
    """(folders, files) of a site that must not be world-readable."""
    paths = config.paths
    folders = [config.path(getattr(paths, key)) for key in
               ("data_dir", "run_dir", "prompts", "recordings", "flows", "backups")]
    db = config.database_path
    folders.append(db.parent)
    files = [db, db.with_name(db.name + "-wal"), db.with_name(db.name + "-shm"),
             db.with_name(db.name + ".lock")]
    if config.source:
        files.append(Path(config.source))
    return folders, files


def secure_site(config: Any) -> list[str]:
    """Tighten the site's folders to 0750 and its files to 0640 (never loosen); returns what
    changed, for the log."""
    folders, files = site_paths(config)
    changed = [str(p) for p in folders if tighten(p, DIR_MODE)]
    changed += [str(p) for p in files if tighten(p, FILE_MODE)]
    if changed:
        log.warning("tightened permissions (group and world access removed): %s",
                    ", ".join(changed))
    return changed
