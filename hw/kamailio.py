"""A Kamailio (Debian package `kamailio`, 5.6) config that spreads calls over SIP media workers.

What it does (measured choices, see notes/pjsua2.md "Several workers behind Kamailio"):
- dispatcher set 1 holds every worker; INVITEs pick one by call load (algorithm 10) with
  `maxload` = the worker's call cap, so a full worker gets no more calls;
- `record_route()` on the INVITE and `loose_route()` for in-dialog requests keep BYE, re-INVITE
  and INFO on the worker that holds the call;
- `ds_load_update()` on 2xx to INVITE and on BYE, `ds_load_unset()` when an INVITE fails;
- OPTIONS probing every second marks a dead worker inactive (pjsua2 answers OPTIONS 200 even when
  full, so probing says alive, not free); dispatcher `flags=2` (failover) plus a failure route that
  calls `ds_next_dst()` on 486/500/503/408 or a timeout retries an INVITE sent to a dead worker on
  the next one (without it: 408);
- an INVITE that gets no reply in `invite_timeout_ms` is given up on that worker (tm fr_timer).

`render()` returns the files' text; `write()` puts them in a directory. Run Kamailio in the
foreground: `kamailio -DD -E -f DIR/kamailio.cfg -Y RUNDIR`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

MODULES_DIR = "/usr/lib/x86_64-linux-gnu/kamailio/modules/"


@dataclass(frozen=True)
class WorkerAddress:
    """One media worker as Kamailio sees it."""

    host: str
    port: int
    max_calls: int  # the worker's call cap: dispatcher maxload
    transport: str = "udp"

    @property
    def uri(self) -> str:
        suffix = "" if self.transport == "udp" else f";transport={self.transport}"
        return f"sip:{self.host}:{self.port}{suffix}"


@dataclass(frozen=True)
class KamailioConfig:
    """`listen`/`port`: the public SIP address callers use; `workers`: the media workers;
    `children`: Kamailio worker processes per socket; `probe_seconds`: OPTIONS interval;
    `invite_timeout_ms`: how long an INVITE may wait for a first reply from a worker."""

    workers: Sequence[WorkerAddress]
    listen: str = "127.0.0.1"
    port: int = 5060
    tcp: bool = True
    children: int = 2
    probe_seconds: int = 1
    invite_timeout_ms: int = 2000
    modules_dir: str = MODULES_DIR
    log_level: int = 1  # Kamailio `debug`: -1 alert .. 3 debug


CFG = """#!KAMAILIO
# Written by ccd (hw/kamailio.py). Spreads calls over ccd's SIP media workers.

debug={log_level}
log_stderror=yes
children={children}
auto_aliases=no
listen=udp:{listen}:{port}
{tcp_listen}
alias="{listen}:{port}"

mpath="{modules_dir}"
loadmodule "kex.so"
loadmodule "corex.so"
loadmodule "tm.so"
loadmodule "tmx.so"
loadmodule "sl.so"
loadmodule "rr.so"
loadmodule "pv.so"
loadmodule "maxfwd.so"
loadmodule "textops.so"
loadmodule "siputils.so"
loadmodule "xlog.so"
loadmodule "sanity.so"
loadmodule "dispatcher.so"

modparam("tm", "fr_timer", {invite_timeout_ms})
modparam("tm", "fr_inv_timer", 60000)
modparam("rr", "enable_full_lr", 0)
modparam("rr", "append_fromtag", 1)
modparam("dispatcher", "list_file", "{list_file}")
modparam("dispatcher", "flags", 2)
modparam("dispatcher", "ds_hash_size", 9)
modparam("dispatcher", "ds_ping_interval", {probe_seconds})
modparam("dispatcher", "ds_probing_mode", 1)
modparam("dispatcher", "ds_probing_threshold", 1)
modparam("dispatcher", "ds_inactive_threshold", 1)
modparam("dispatcher", "ds_ping_from", "sip:dispatcher@{listen}:{port}")
modparam("dispatcher", "ds_ping_reply_codes", "class=2;code=403;code=404;code=486;code=503")
modparam("dispatcher", "xavp_dst", "_dsdst_")
modparam("dispatcher", "xavp_ctx", "_dsctx_")

request_route {{
    if (!mf_process_maxfwd_header("10")) {{
        sl_send_reply("483", "Too Many Hops");
        exit;
    }}
    if (!sanity_check("1511", "7")) {{
        exit;
    }}
    if (is_method("CANCEL")) {{
        if (t_check_trans()) {{
            t_relay();
        }}
        exit;
    }}
    if (has_totag()) {{
        route(WITHINDLG);
        exit;
    }}
    t_check_trans();
    if (is_method("OPTIONS") && uri == myself && $rU == $null) {{
        sl_send_reply("200", "OK");
        exit;
    }}
    if (!is_method("INVITE")) {{
        sl_send_reply("405", "Method Not Allowed");
        exit;
    }}
    record_route();
    # 10: call load; maxload per worker in the list file
    if (!ds_select_dst("1", "10")) {{
        sl_send_reply("503", "No media worker available");
        exit;
    }}
    xlog("L_INFO", "INVITE $ci to $du\\n");
    t_on_reply("WORKER_REPLY");
    t_on_failure("NEXT_WORKER");
    route(RELAY);
}}

route[RELAY] {{
    if (!t_relay()) {{
        sl_reply_error();
    }}
    exit;
}}

route[WITHINDLG] {{
    if (loose_route()) {{
        if (is_method("BYE")) {{
            ds_load_update();
        }}
        route(RELAY);
    }}
    if (is_method("ACK")) {{
        if (t_check_trans()) {{
            t_relay();
        }}
        exit;
    }}
    sl_send_reply("404", "Not here");
    exit;
}}

onreply_route[WORKER_REPLY] {{
    if (is_method("INVITE") && status =~ "^2[0-9][0-9]$") {{
        ds_load_update();
    }}
}}

failure_route[NEXT_WORKER] {{
    if (t_is_canceled()) {{
        ds_load_unset();
        exit;
    }}
    if (t_branch_timeout() && !t_branch_replied()) {{
        # no answer at all: the worker is dead or stuck; stop sending there until a probe
        # succeeds. A 503/486 only means full: try the next one without marking it.
        ds_mark_dst("ip");
    }}
    if (t_check_status("486|500|503|408") || t_branch_timeout()) {{
        if (ds_next_dst()) {{
            xlog("L_INFO", "INVITE $ci failed over to $du\\n");
            t_on_reply("WORKER_REPLY");
            t_on_failure("NEXT_WORKER");
            route(RELAY);
        }}
    }}
    ds_load_unset();
}}
"""


def render(config: KamailioConfig, list_file: Path) -> dict[str, str]:
    """The config files' text: {'kamailio.cfg': ..., 'dispatcher.list': ...}.

    `list_file`: where dispatcher.list will live (Kamailio needs its absolute path)."""
    if not config.workers:
        raise ValueError("at least one worker")
    lines = ["# setid destination flags priority attributes (written by ccd)"]
    for i, worker in enumerate(config.workers):
        lines.append(f"1 {worker.uri} 0 0 duid=w{i};maxload={worker.max_calls}")
    cfg = CFG.format(
        log_level=config.log_level,
        children=config.children,
        listen=config.listen,
        port=config.port,
        tcp_listen=f"listen=tcp:{config.listen}:{config.port}" if config.tcp else "",
        modules_dir=config.modules_dir,
        invite_timeout_ms=config.invite_timeout_ms,
        list_file=str(list_file),
        probe_seconds=config.probe_seconds,
    )
    return {"kamailio.cfg": cfg, "dispatcher.list": "\n".join(lines) + "\n"}


def write(config: KamailioConfig, directory: Path) -> Path:
    """Write kamailio.cfg and dispatcher.list into `directory`; returns the .cfg path."""
    directory = directory.resolve()
    directory.mkdir(parents=True, exist_ok=True)
    files = render(config, directory / "dispatcher.list")
    for name, text in files.items():
        (directory / name).write_text(text)
    return directory / "kamailio.cfg"
