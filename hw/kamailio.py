"""The Kamailio (Debian package `kamailio`, 5.6) config of ccd's SIP edge.

The edge is the only thing the network talks to; the pjsua2 media workers listen on loopback
behind it. The pinned pjsua2 2.10 wheel aborts on some malformed SDP, so nothing reaches a worker
unless it passed these rules, in this order:

1. requests from the workers themselves (dispatcher list) are in-dialog traffic towards callers;
2. requests from any other address not in `allowed_peers` (permissions module, address list) are
   dropped without a reply: a reply to a forged UDP source is reflection, and a scanner learns
   nothing; `force_rport()` sends every reply we do make to the packet's real source, never to
   an address named in Via or Contact;
3. per-source rate limit (pike) for the allowed peers, then `sanity` checks (URIs, Via, CSeq,
   Content-Length...), a size cap, Max-Forwards;
4. methods: INVITE, ACK, BYE, CANCEL, and in a known dialog also INFO (DTMF), re-INVITE, UPDATE,
   PRACK and OPTIONS; OPTIONS outside a dialog is answered by the edge (trunk keep-alive);
   everything else gets 405 (SUBSCRIBE, MESSAGE, REGISTER, PUBLISH, REFER, NOTIFY...);
5. every SDP (INVITE, in-dialog offers and answers, replies from callers) must match a strict
   grammar (`SDP_RE`, a PCRE kept in a file the regex module reads) and be at most
   `MAX_SDP_BYTES`; an INVITE without SDP gets 488; INFO bodies must be DTMF;
6. headers that the workers do not need are removed (`keep_hf`), so pjsip parses only headers
   Kamailio has already parsed and checked;
7. in-dialog requests must belong to a dialog the edge created (dialog module), and requests
   from outside may only be relayed to a worker (no open relay through forged Route headers);
8. new calls: at most `max_new_calls_per_second` (pipelimit), then the dispatcher picks the
   least loaded worker (algorithm 10, `maxload` = its caller capacity); when every worker is
   full or the rate is exceeded the caller gets `503` with `Retry-After`. A worker that does not
   answer at all is marked down and the INVITE goes to the next one; a worker that answers 503
   is tried once more elsewhere, never more (no retry storm).

The dialog module tracks every call, so when a worker dies the daemon asks the edge (JSON-RPC on
a Unix datagram socket, `dlg.end_dlg`) to end that worker's dialogs: the callers get a BYE.

`render()` returns the files' text; `write()` puts them in a directory. Run Kamailio in the
foreground: `kamailio -DD -E -f DIR/kamailio.cfg -Y RUNDIR`.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

MODULES_DIR = "/usr/lib/x86_64-linux-gnu/kamailio/modules/"
MAX_SDP_BYTES = 4096
MAX_MESSAGE_BYTES = 8192

# The methods the hotline serves. Outside a dialog only INVITE (a call), CANCEL and ACK (of a
# refused INVITE) and OPTIONS (keep-alive, answered by the edge) are accepted.
DIALOG_METHODS = "ACK|BYE|CANCEL|INFO|INVITE|UPDATE|PRACK|OPTIONS"

# Headers a worker receives besides those Kamailio always keeps (Via, From, To, Call-ID, CSeq,
# Content-Length, Content-Type, Max-Forwards, Contact, Route, Record-Route).
KEPT_HEADERS = "P-Asserted-Identity|Diversion|User-Agent|Allow|Reason"


_NL = r"\r?(?![\s\S])"  # a line as Kamailio's {line.at} gives it: no LF, maybe a CR
_ADDR = r"[0-9A-Fa-f.:]{1,45}"
_TEXT = r"[^\x00-\x1f\x7f]{1,256}"
_SPECIAL_ATTRS = "rtpmap|fmtp|rtcp|ptime|maxptime|ssrc|crypto|candidate|setup|fingerprint"

SDP_BODY_RE = r"\Av=0\r?\n(?:[a-z]=[^\x00-\x1f\x7f]{0,256}\r?\n){3,79}(?![\s\S])"
"""The body as a whole: starts with v=0, at most 80 printable lines, each ending in a newline."""

SDP_PRESENT_RE = (
    r"\A(?=[\s\S]*\no=)(?=[\s\S]*\ns=)(?=[\s\S]*\nt=)(?=[\s\S]*\nm=audio [1-9])"
)
"""Lines an offer or answer must have (pjmedia's parser fails on a missing one)."""

SDP_LINE_RES = (
    rf"\Av=0{_NL}",
    rf"\Ao=[!-~]{{1,64}} \d{{1,20}} \d{{1,20}} IN IP[46] {_ADDR}{_NL}",
    rf"\A[siuepzkr]={_TEXT}{_NL}",
    rf"\Ac=IN IP[46] {_ADDR}(?:/\d{{1,3}}){{0,2}}{_NL}",
    rf"\Ab=[A-Za-z0-9-]{{1,16}}:\d{{1,10}}{_NL}",
    rf"\At=\d{{1,20}} \d{{1,20}}{_NL}",
    rf"\Am=(?:audio|video|text|image|application) \d{{1,5}}(?:/\d{{1,3}})? "
    rf"[A-Za-z0-9/]{{1,24}}(?: [A-Za-z0-9-]{{1,32}}){{1,32}}{_NL}",
    rf"\Aa=rtpmap:\d{{1,3}} [A-Za-z0-9._-]{{1,32}}/\d{{1,6}}(?:/\d{{1,2}})?{_NL}",
    rf"\Aa=fmtp:\d{{1,3}} [!-~][ -~]{{0,199}}{_NL}",
    rf"\Aa=rtcp:\d{{1,5}}(?: IN IP[46] {_ADDR})?{_NL}",
    rf"\Aa=(?:max)?ptime:\d{{1,4}}{_NL}",
    rf"\Aa=ssrc:\d{{1,10}} [!-~][ -~]{{0,199}}{_NL}",
    rf"\Aa=(?!(?:{_SPECIAL_ATTRS})\b)[A-Za-z][A-Za-z0-9_.-]{{0,31}}(?::[!-~][ -~]{{0,199}})?{_NL}",
)
"""Every SDP line must match one of these: a strict grammar for what pjmedia parses itself."""


def sdp_acceptable(body: str) -> bool:
    """What the edge's CHECK_SDP route decides, in Python (tests, and to explain a refusal)."""
    if len(body.encode()) > MAX_SDP_BYTES:
        return False
    if not re.search(SDP_BODY_RE, body) or not re.search(SDP_PRESENT_RE, body):
        return False
    lines = body.split("\n")[:-1]
    return all(any(re.search(rx, line) for rx in SDP_LINE_RES) for line in lines)


DTMF_INFO_RE = (
    r"\A(?:Signal= ?[0-9A-Da-d*#](?:\r?\nDuration= ?\d{1,5})?|[0-9A-Da-d*#])(?:\r?\n)?(?![\s\S])"
)
"""An INFO body with one DTMF digit (application/dtmf-relay or application/dtmf)."""


@dataclass(frozen=True)
class WorkerAddress:
    """One media worker as Kamailio sees it."""

    host: str
    port: int
    max_calls: int  # the callers the worker takes: dispatcher maxload
    transport: str = "udp"

    @property
    def uri(self) -> str:
        suffix = "" if self.transport == "udp" else f";transport={self.transport}"
        return f"sip:{self.host}:{self.port}{suffix}"


@dataclass(frozen=True)
class KamailioConfig:
    """`listen`/`port`: the public SIP address callers use; `workers`: the media workers;
    `allowed_peers`: IPs/CIDRs that may send requests (empty: everyone); `internal_listen`: a
    loopback address the edge uses towards the workers when `listen` is not loopback ('' : the
    same socket); `children`: Kamailio worker processes per socket; `probe_seconds`: OPTIONS
    interval to the workers; `invite_timeout_ms`: how long an INVITE may wait for a worker's
    first reply; `max_new_calls_per_second`: new calls the edge lets through (0: no limit);
    `retry_after_s`: the Retry-After of a 503; `pike_requests`/`pike_window_s`: requests one
    allowed source may send per window before it is ignored for a while; `rpc_socket`: the
    JSON-RPC Unix datagram socket ('' : none)."""

    workers: Sequence[WorkerAddress]
    listen: str = "127.0.0.1"
    port: int = 5060
    tcp: bool = True
    allowed_peers: Sequence[str] = field(default_factory=tuple)
    internal_listen: str = ""
    children: int = 2
    probe_seconds: int = 1
    invite_timeout_ms: int = 2000
    max_new_calls_per_second: int = 0
    retry_after_s: int = 10
    pike_requests: int = 400
    pike_window_s: int = 2
    rpc_socket: str = ""
    modules_dir: str = MODULES_DIR
    log_level: int = 1  # Kamailio `debug`: -1 alert .. 3 debug


CFG = """#!KAMAILIO
# Written by ccd (hw/kamailio.py): the SIP edge in front of ccd's media workers.
# Regenerated at every start of `ccd run`; edit ccd.toml, not this file.

debug={log_level}
log_stderror=yes
children={children}
tcp_children={children}
auto_aliases=no
dns=no
rev_dns=no
use_dns_cache=off
dns_try_naptr=no
server_signature=no
sip_warning=0
tcp_connection_lifetime=3605
tcp_max_connections=2048
tcp_accept_no_cl=no
listen=udp:{listen}:{port}
{tcp_listen}
{internal_listen}
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
loadmodule "textopsx.so"
loadmodule "siputils.so"
loadmodule "nathelper.so"
loadmodule "xlog.so"
loadmodule "sanity.so"
loadmodule "permissions.so"
loadmodule "pike.so"
loadmodule "regex.so"
loadmodule "pipelimit.so"
loadmodule "dialog.so"
loadmodule "dispatcher.so"
{rpc_module}

modparam("tm", "fr_timer", {invite_timeout_ms})
modparam("tm", "fr_inv_timer", 60000)
modparam("rr", "enable_full_lr", 0)
modparam("rr", "append_fromtag", 1)
modparam("permissions", "address_file", "{address_file}")
modparam("pike", "sampling_time_unit", {pike_window_s})
modparam("pike", "reqs_density_per_unit", {pike_requests})
modparam("pike", "remove_latency", 4)
modparam("regex", "file", "{regex_file}")
modparam("pipelimit", "timer_interval", 1)
modparam("dialog", "enable_stats", 1)
modparam("dialog", "dlg_match_mode", 1)
modparam("dialog", "default_timeout", 21600)
modparam("dialog", "ka_timer", 0)
modparam("dispatcher", "list_file", "{list_file}")
modparam("dispatcher", "flags", 2)
modparam("dispatcher", "ds_hash_size", 9)
# A call's load entry lapses after 2 h (or 60 s unanswered), so a lost BYE never leaks load.
modparam("dispatcher", "ds_hash_expire", 7200)
modparam("dispatcher", "ds_hash_initexpire", 60)
modparam("dispatcher", "ds_ping_interval", {probe_seconds})
modparam("dispatcher", "ds_probing_mode", 1)
modparam("dispatcher", "ds_probing_threshold", 1)
modparam("dispatcher", "ds_inactive_threshold", 1)
modparam("dispatcher", "ds_ping_from", "sip:dispatcher@{ping_host}")
modparam("dispatcher", "ds_ping_reply_codes", "class=2;code=403;code=404;code=486;code=503")
modparam("dispatcher", "xavp_dst", "_dsdst_")
modparam("dispatcher", "xavp_ctx", "_dsctx_")
{rpc_params}

request_route {{
    # Replies go to where the packet came from, never to an address it names.
    force_rport();
    if (ds_is_from_list("1", "2")) {{
        # A worker's own in-dialog request towards a caller (BYE, re-INVITE).
        if (has_totag() && loose_route()) {{
            if (is_method("BYE")) {{
                ds_load_update();
            }}
            route(RELAY);
        }}
        if (is_method("ACK") && t_check_trans()) {{
            t_relay();
        }}
        exit;
    }}
    if (!allow_source_address("1")) {{
        # Not a trunk or peer: no reply at all (a reply to a forged source is reflection).
        exit;
    }}
    if (!pike_check_req()) {{
        xlog("L_WARN", "edge: request rate from $si too high, ignoring it for a while\\n");
        exit;
    }}
    if ($ml > {max_message_bytes}) {{
        sl_send_reply("513", "Message Too Large");
        exit;
    }}
    if (!mf_process_maxfwd_header("10")) {{
        sl_send_reply("483", "Too Many Hops");
        exit;
    }}
    if (!sanity_check("6143", "15")) {{
        exit;
    }}
    if (is_method("CANCEL")) {{
        if (t_check_trans()) {{
            route(RELAY);
        }}
        exit;
    }}
    if (has_totag()) {{
        route(WITHINDLG);
        exit;
    }}
    if (is_method("ACK")) {{
        if (t_check_trans()) {{
            t_relay();
        }}
        exit;
    }}
    t_check_trans();
    if (is_method("OPTIONS") && uri == myself && $rU == $null) {{
        sl_send_reply("200", "OK");
        exit;
    }}
    if (!is_method("INVITE")) {{
        append_to_reply("Allow: INVITE, ACK, BYE, CANCEL, INFO, OPTIONS\\r\\n");
        sl_send_reply("405", "Method Not Allowed");
        exit;
    }}
    if (!has_body("application/sdp")) {{
        sl_send_reply("488", "SDP Offer Required");
        exit;
    }}
    route(CHECK_SDP);
    if ({rate_check}) {{
        xlog("L_WARN", "edge: new calls over {max_new_calls_per_second}/s, 503 to $si\\n");
        route(BUSY);
    }}
    keep_hf("^({kept_headers})$");
    # In-dialog requests to the caller go where the INVITE came from, not to the Contact it
    # named (no third address; and callers behind NAT keep working).
    fix_nated_contact();
    append_hf("X-CCD-Source: $si:$sp\\r\\n");
    record_route();
    dlg_manage();
    # 10: call load; maxload per worker in the list file
    if (!ds_select_dst("1", "10")) {{
        xlog("L_WARN", "edge: every media worker is full, 503 to $si\\n");
        route(BUSY);
    }}
    # The dialog's worker, for callers that do not send our Route back (SIPp's stock
    # scenarios): their in-dialog requests still reach that worker and no other address.
    $dlg_var(worker) = $du;
    $avp(ccd_503_retries) = 0;
    t_on_reply("WORKER_REPLY");
    t_on_failure("NEXT_WORKER");
    route(RELAY);
}}

route[BUSY] {{
    append_to_reply("Retry-After: {retry_after_s}\\r\\n");
    sl_send_reply("503", "Service Unavailable");
    exit;
}}

route[CHECK_SDP] {{
    # The whole body (printable lines, v=0 first), the lines pjmedia needs, then each line.
    if ($cl > {max_sdp_bytes} || !pcre_match_group("$rb", "0")
            || !pcre_match_group("$rb", "1")) {{
        route(BAD_SDP);
    }}
    $var(lines) = $(rb{{line.count}});
    $var(i) = 0;
    while ($var(i) < $var(lines)) {{
        $var(line) = $(rb{{line.at,$var(i)}});
        if (!pcre_match_group("$var(line)", "2")) {{
            route(BAD_SDP);
        }}
        $var(i) = $var(i) + 1;
    }}
}}

route[BAD_SDP] {{
    xlog("L_INFO", "edge: refused $rm from $si: SDP failed the check\\n");
    sl_send_reply("488", "Not Acceptable Here");
    exit;
}}

route[RELAY] {{
    if (!t_relay()) {{
        sl_reply_error();
    }}
    exit;
}}

route[WITHINDLG] {{
    if (!is_method("{dialog_methods}")) {{
        xlog("L_INFO", "edge: refused in-dialog $rm from $si\\n");
        sl_send_reply("405", "Method Not Allowed");
        exit;
    }}
    if (!is_known_dlg()) {{
        xlog("L_INFO", "edge: $rm from $si for no known dialog\\n");
        if (!is_method("ACK")) {{
            sl_send_reply("481", "Call/Transaction Does Not Exist");
        }}
        exit;
    }}
    if (!loose_route()) {{
        if (is_method("ACK") && t_check_trans()) {{
            t_relay();
            exit;
        }}
        if ($dlg_var(worker) == $null) {{
            xlog("L_INFO", "edge: in-dialog $rm from $si without our route\\n");
            if (!is_method("ACK")) {{
                sl_send_reply("404", "Not here");
            }}
            exit;
        }}
        $du = $dlg_var(worker);
    }}
    # From a caller: the next hop must be a worker, never a third address.
    if ($du != $null) {{
        $var(next) = $du;
    }} else {{
        $var(next) = $ru;
    }}
    if (!ds_is_from_list("1", "2", "$var(next)")) {{
        xlog("L_WARN", "edge: in-dialog $rm from $si towards $var(next) refused\\n");
        sl_send_reply("403", "Forbidden");
        exit;
    }}
    if (is_method("INFO")) {{
        if ($cl > 64 || !(has_body("application/dtmf-relay") || has_body("application/dtmf"))
                || !pcre_match_group("$rb", "3")) {{
            xlog("L_INFO", "edge: refused INFO from $si: not one DTMF digit\\n");
            sl_send_reply("415", "Unsupported Media Type");
            exit;
        }}
    }} else if ($cl > 0) {{
        if (!has_body("application/sdp")) {{
            sl_send_reply("415", "Unsupported Media Type");
            exit;
        }}
        route(CHECK_SDP);
    }}
    if (is_method("BYE")) {{
        ds_load_update();
    }}
    keep_hf("^({kept_headers})$");
    if (is_method("INVITE|UPDATE")) {{
        fix_nated_contact();  # a target refresh may not point anywhere but its source
    }}
    route(RELAY);
}}

reply_route {{
    # A reply that belongs to no transaction of ours is never forwarded.
    if (!t_check_trans()) {{
        drop;
    }}
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
        # succeeds, and try the next one.
        ds_mark_dst("ip");
        if (ds_next_dst()) {{
            xlog("L_INFO", "edge: INVITE $ci failed over to $du\\n");
            $dlg_var(worker) = $du;
            t_on_reply("WORKER_REPLY");
            t_on_failure("NEXT_WORKER");
            route(RELAY);
        }}
    }} else if (t_check_status("486|503") && $avp(ccd_503_retries) < 1) {{
        # The worker is full after all (its agent legs count too): one more worker, never a
        # round of every worker - that is how a surge became a retry storm.
        $avp(ccd_503_retries) = 1;
        if (ds_next_dst()) {{
            $dlg_var(worker) = $du;
            t_on_reply("WORKER_REPLY");
            t_on_failure("NEXT_WORKER");
            route(RELAY);
        }}
    }}
    ds_load_unset();
    if (t_check_status("486|503|408") || t_branch_timeout()) {{
        append_to_reply("Retry-After: {retry_after_s}\\r\\n");
        t_reply("503", "Service Unavailable");
    }}
}}
"""


def address_list(allowed_peers: Sequence[str]) -> str:
    """permissions' address file: group 1 holds every allowed peer (empty list: everyone)."""
    lines = ["# group ip mask port tag (written by ccd)"]
    # Everyone: two halves of each address space (the module ignores a mask of 0).
    peers = [p.strip() for p in allowed_peers if p.strip()] or [
        "0.0.0.0/1", "128.0.0.0/1", "::/1", "8000::/1"]
    for peer in peers:
        net = ipaddress.ip_network(peer, strict=False)
        lines.append(f"1 {net.network_address} {net.prefixlen} 0 peer")
    return "\n".join(lines) + "\n"


def regex_groups() -> str:
    """The regex module's file: groups 0-2 the SDP checks (a group's lines are alternatives),
    group 3 a DTMF INFO body."""
    lines = ["[0]", SDP_BODY_RE, "[1]", SDP_PRESENT_RE, "[2]", *SDP_LINE_RES, "[3]", DTMF_INFO_RE]
    return "\n".join(lines) + "\n"


def render(config: KamailioConfig, directory: Path) -> dict[str, str]:
    """The config files' text by name: kamailio.cfg, dispatcher.list, address.list, sdp.regex.

    `directory`: where they will live (Kamailio needs absolute paths)."""
    if not config.workers:
        raise ValueError("at least one worker")
    lines = ["# setid destination flags priority attributes (written by ccd)"]
    socket_attr = f";socket=udp:{config.internal_listen}:{config.port}" if (
        config.internal_listen) else ""
    for i, worker in enumerate(config.workers):
        lines.append(f"1 {worker.uri} 0 0 duid=w{i};maxload={worker.max_calls}{socket_attr}")
    rpc_module = 'loadmodule "jsonrpcs.so"' if config.rpc_socket else ""
    rpc_params = (
        'modparam("jsonrpcs", "transport", 4)\n'
        'modparam("jsonrpcs", "fifo_name", "")\n'
        f'modparam("jsonrpcs", "dgram_socket", "{config.rpc_socket}")\n'
        'modparam("jsonrpcs", "dgram_mode", 0660)'
    ) if config.rpc_socket else ""
    rate = config.max_new_calls_per_second
    rate_check = f'pl_check("new_calls", "TAILDROP", {rate}) < 0' if rate > 0 else "0"
    cfg = CFG.format(
        log_level=config.log_level,
        children=config.children,
        listen=config.listen,
        port=config.port,
        tcp_listen=f"listen=tcp:{config.listen}:{config.port}" if config.tcp else "",
        internal_listen=(f"listen=udp:{config.internal_listen}:{config.port}"
                         if config.internal_listen else ""),
        ping_host=f"{config.internal_listen or config.listen}:{config.port}",
        modules_dir=config.modules_dir,
        invite_timeout_ms=config.invite_timeout_ms,
        list_file=str(directory / "dispatcher.list"),
        address_file=str(directory / "address.list"),
        regex_file=str(directory / "sdp.regex"),
        probe_seconds=config.probe_seconds,
        pike_requests=config.pike_requests,
        pike_window_s=config.pike_window_s,
        max_message_bytes=MAX_MESSAGE_BYTES,
        max_sdp_bytes=MAX_SDP_BYTES,
        kept_headers=KEPT_HEADERS,
        dialog_methods=DIALOG_METHODS,
        rate_check=rate_check,
        max_new_calls_per_second=rate,
        retry_after_s=config.retry_after_s,
        rpc_module=rpc_module,
        rpc_params=rpc_params,
    )
    return {
        "kamailio.cfg": cfg,
        "dispatcher.list": "\n".join(lines) + "\n",
        "address.list": address_list(config.allowed_peers),
        "sdp.regex": regex_groups(),
    }


def write(config: KamailioConfig, directory: Path) -> Path:
    """Write the edge's files into `directory`; returns the kamailio.cfg path."""
    directory = directory.resolve()
    directory.mkdir(parents=True, exist_ok=True)
    for name, text in render(config, directory).items():
        (directory / name).write_text(text)
    return directory / "kamailio.cfg"
