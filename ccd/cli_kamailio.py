"""`ccd deploy kamailio`: Kamailio in front of the media workers (scale-out, notes/pjsua2.md).

Kamailio answers on the public SIP address and its dispatcher spreads INVITEs over the workers by
call load, keeps in-dialog requests on their worker (record-route), probes the workers with
OPTIONS and stops sending to a dead one. The workers then listen on `sip.listen` (worker i on
port + i), which must differ from the public address.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from ccd.cli.context import fail, state
from hw.kamailio import KamailioConfig, WorkerAddress, write


def kamailio(
    ctx: typer.Context,
    output: Annotated[Path, typer.Option("--output", "-o", help="Folder for the files.")
                      ] = Path("."),
    public: Annotated[str, typer.Option(
        help="HOST:PORT where callers and trunks reach the hotline.")] = "127.0.0.1:5060",
) -> None:
    """Write kamailio.cfg and dispatcher.list for this site's media workers.

    Examples:

      ccd --config /srv/ccd/ccd.toml --set sip.workers=4 --set sip.listen=127.0.0.1:5070 \\
          deploy kamailio --public 0.0.0.0:5060 --output /etc/kamailio

      kamailio -DD -E -f /etc/kamailio/kamailio.cfg     # run it in the foreground to try
    """
    config = state(ctx).config
    host, _, port = public.rpartition(":")
    if not host or not port.isdigit():
        raise fail(f"--public must be HOST:PORT, got {public!r}")
    worker_host, _, first = config.sip.listen.rpartition(":")
    ports = [int(first) + i for i in range(config.sip.workers)]
    if host in (worker_host, "0.0.0.0") and int(port) in ports:
        raise fail(f"the workers listen on {worker_host}:{ports[0]}..{ports[-1]}; move them "
                   f"(e.g. --set sip.listen={worker_host}:{int(port) + 10}) or Kamailio "
                   "cannot have the public port")
    from hw.sipworker.admission import derive_caps

    sip = config.sip
    legs = derive_caps(sip.max_calls_per_worker, sip.max_new_calls_per_second).max_calls
    callers = max(1, (legs - sip.followup_legs_per_worker) // (1 + sip.legs_reserved_per_call))
    load = callers + sip.overflow_legs_per_worker  # as `ccd run` gives its own edge
    workers = [WorkerAddress(worker_host, p, load) for p in ports]
    from ccd.telephony.trunks import trunk_peers

    peers = [*config.sip.allowed_peers, *trunk_peers(config)] if config.sip.allowed_peers else []
    cfg = write(KamailioConfig(workers, listen=host, port=int(port), allowed_peers=peers,
                               retry_after_s=config.sip.edge_retry_after_s), output)
    typer.echo(f"wrote {cfg}, dispatcher.list, address.list and sdp.regex in {cfg.parent} "
               f"({len(workers)} workers)")
    typer.echo(f"try it:  kamailio -DD -E -f {cfg}")
    typer.echo("install:  copy both files to /etc/kamailio/ and `systemctl restart kamailio`")
