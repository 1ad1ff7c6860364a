"""What a machine needs to run ccd under systemd: the daemon's unit, its system user, and a
wallboard kiosk on a text console. Building the files is pure (text in, text out); `write` puts
them in a folder and `enable_steps` says what to run next.

The daemon (`ccd.service`): Type=notify (the daemon sends READY=1 and WATCHDOG=1 itself, see
ccd/sdnotify.py), a watchdog, restart on failure, its own system user `ccd`, and /run/ccd
(RuntimeDirectory) for the API socket, which the daemon makes mode 0660 for group `ccd`
(api.socket_mode, api.group): members of that group may use the socket.

The kiosk (`ccd-wallboard@tty1.service`): `ccd wallboard --kiosk` bound to a virtual console
instead of a login prompt there (it replaces getty on that tty), running as its own user in
group `ccd`, restarted always, started at boot — a box that loses power comes back showing the
board. The Linux console's own font has no Chinese characters: `fbterm` (with a CJK font)
draws them; without it set `site.language = "en"`.
"""

from __future__ import annotations

import shlex
import sys
from dataclasses import dataclass
from pathlib import Path

DAEMON_UNIT = "ccd.service"
SYSUSERS = "ccd.sysusers.conf"
KIOSK_UNIT = "ccd-wallboard@.service"
KIOSK_ENV = "wallboard.env"
RUN_DIR = "/run/ccd"


@dataclass(frozen=True)
class Site:
    """config: the site's ccd.toml (absolute); executable: the `ccd` command line (argv list);
    name: the site's name (for descriptions); user, group: the daemon's account."""

    config: Path
    executable: tuple[str, ...]
    name: str = "ccd"
    user: str = "ccd"
    group: str = "ccd"

    @property
    def folder(self) -> Path:
        return self.config.parent

    def command(self, *args: str) -> str:
        """The ExecStart line: ccd with the site's config and the run folder under /run."""
        argv = [*self.executable, "--config", str(self.config),
                "--set", f"paths.run_dir={RUN_DIR}", *args]
        return " ".join(shlex.quote(a) for a in argv)


def ccd_executable() -> tuple[str, ...]:
    """The `ccd` beside this Python (a venv's bin/ccd), else `python -m ccd`."""
    beside = Path(sys.executable).with_name("ccd")
    if beside.exists():
        return (str(beside),)
    return (sys.executable, "-m", "ccd")


def daemon_unit(site: Site, *, watchdog_s: int = 30) -> str:
    """ccd.service. watchdog_s: WatchdogSec (the daemon pings at half of it)."""
    return f"""\
# ccd daemon for {site.name} — written by `ccd deploy daemon`.
[Unit]
Description=ccd contact center daemon ({site.name})
Documentation=file://{site.config}
After=network-online.target
Wants=network-online.target

[Service]
Type=notify
NotifyAccess=main
ExecStart={site.command("--set", "log.format=journal", "run")}
ExecReload=/bin/kill -HUP $MAINPID
WorkingDirectory={site.folder}
User={site.user}
Group={site.group}
# /run/ccd holds the API socket (mode 0660, group {site.group}); it goes when the daemon stops.
RuntimeDirectory=ccd
RuntimeDirectoryMode=0750
UMask=0007
WatchdogSec={watchdog_s}
Restart=on-failure
RestartSec=2
TimeoutStartSec=120
TimeoutStopSec=30
Environment=PYTHONUNBUFFERED=1
LimitNOFILE=65536
NoNewPrivileges=yes
ProtectSystem=full
ReadWritePaths={site.folder}

[Install]
WantedBy=multi-user.target
"""


def sysusers(site: Site) -> str:
    """systemd-sysusers lines for the daemon's account and group."""
    return f"""\
# ccd's system account — written by `ccd deploy daemon`; install as /etc/sysusers.d/ccd.conf
u {site.user} - "ccd contact center" {site.folder} /usr/sbin/nologin
"""


def kiosk_unit(site: Site, *, user: str = "ccd-kiosk", fbterm: bool = False,
               font: str = "WenQuanYi Zen Hei Mono") -> str:
    """ccd-wallboard@.service, instantiated per tty (ccd-wallboard@tty1.service).

    user: the account the board runs as (put in group `ccd` for the socket); fbterm: draw the
    console with fbterm and `font` so Chinese shows on a bare text console.
    """
    command = site.command("wallboard", "--kiosk")
    if fbterm:
        command = f"/usr/bin/fbterm --font-names={shlex.quote(font)} -- {command}"
    video = "SupplementaryGroups=video\n" if fbterm else ""
    return f"""\
# The wallboard kiosk for {site.name} on a text console — written by `ccd deploy kiosk`.
# Enable it for a tty: systemctl enable --now ccd-wallboard@tty1.service
[Unit]
Description=ccd wallboard kiosk on %I ({site.name})
After=systemd-user-sessions.service {DAEMON_UNIT} getty@%i.service
Wants={DAEMON_UNIT}
# The board takes the console instead of a login prompt.
Conflicts=getty@%i.service
# Never give up: after a power cut, a daemon restart or a crash the board comes back.
StartLimitIntervalSec=0

[Service]
Type=simple
User={user}
Group={site.group}
{video}ExecStart={command}
WorkingDirectory={site.folder}
StandardInput=tty
StandardOutput=tty
StandardError=journal
TTYPath=/dev/%I
TTYReset=yes
TTYVHangup=yes
TTYVTDisallocate=yes
UtmpIdentifier=%I
Environment=TERM=linux
Environment=LANG=C.UTF-8
# CCD_USER / CCD_PASSWORD for a password login (without them: the Unix user's peer login).
EnvironmentFile=-/etc/ccd/{KIOSK_ENV}
Restart=always
RestartSec=2

[Install]
WantedBy=multi-user.target
"""


def kiosk_env(username: str = "") -> str:
    return f"""\
# Login of the wallboard kiosk (install as /etc/ccd/{KIOSK_ENV}, mode 0600).
# A team lead or QA account; leave CCD_USER empty to log in as the kiosk's Unix user.
CCD_USER={username}
CCD_PASSWORD=
"""


def write(files: dict[str, str], output: Path) -> list[Path]:
    """Write `files` (name -> text) into `output` (created if needed); returns the paths."""
    output.mkdir(parents=True, exist_ok=True)
    written = []
    for name, text in files.items():
        path = output / name
        path.write_text(text, encoding="utf-8")
        if name == KIOSK_ENV:
            path.chmod(0o600)
        written.append(path)
    return written


def daemon_steps(site: Site, output: Path) -> list[str]:
    """The commands that install and start the daemon's unit, in order."""
    return [
        f"install -m 0644 {output / SYSUSERS} /etc/sysusers.d/ccd.conf",
        "systemd-sysusers",
        f"chown -R {site.user}:{site.group} {site.folder}",
        f"install -m 0644 {output / DAEMON_UNIT} /etc/systemd/system/{DAEMON_UNIT}",
        "systemctl daemon-reload",
        f"systemctl enable --now {DAEMON_UNIT}",
        f"systemctl status {DAEMON_UNIT}   # and: journalctl -u {DAEMON_UNIT} -f",
    ]


def kiosk_steps(site: Site, output: Path, *, user: str, tty: str) -> list[str]:
    return [
        f"useradd --system --gid {site.group} --home-dir /nonexistent --shell "
        f"/usr/sbin/nologin {user}   # once",
        f"install -D -m 0600 {output / KIOSK_ENV} /etc/ccd/{KIOSK_ENV}   # then fill it in",
        f"install -m 0644 {output / KIOSK_UNIT} /etc/systemd/system/{KIOSK_UNIT}",
        "systemctl daemon-reload",
        f"systemctl enable --now ccd-wallboard@{tty}.service",
    ]
