"""`python -m hw.sipworker --fd N ...`: run one SIP media worker on an inherited socket."""

from __future__ import annotations

import argparse
import logging
import os
import socket
import sys

from hw.sipworker.endpoint import PJ_LOG_LEVELS, WorkerOptions
from hw.sipworker.protocol import PASSWORD_ENV


def parse_args(argv: list[str] | None = None) -> WorkerOptions:
    ap = argparse.ArgumentParser(
        prog="python -m hw.sipworker",
        description="A pjsua2 media worker driven over a socketpair by the ccd daemon (or a "
        "scripted phone). Commands and events: hw/sipworker/protocol.py.",
    )
    ap.add_argument("--fd", type=int, required=True, help="inherited socket (socketpair end)")
    ap.add_argument("--mode", choices=("server", "phone"), default="server")
    ap.add_argument("--listen", default="127.0.0.1", help="SIP/RTP bind address")
    ap.add_argument("--sip-port", type=int, default=5060, help="UDP and TCP; 0 picks a free one")
    ap.add_argument("--public-address", default="", help="address for Contact and SDP")
    ap.add_argument("--media-address", default="",
                    help="RTP bind address and SDP address (default: --listen / --public-address)")
    ap.add_argument("--no-tcp", action="store_true", help="UDP only")
    ap.add_argument("--rtp-port", type=int, default=20000, help="first RTP port")
    ap.add_argument("--rtp-range", type=int, default=1000, help="RTP ports this worker may use")
    ap.add_argument("--max-calls", type=int, default=28, help="legs, all directions")
    ap.add_argument("--max-cps", type=float, default=8.0, help="new legs per second")
    ap.add_argument("--extra-legs", type=int, default=2, help="legs kept per inbound call")
    ap.add_argument("--followup-pool", type=int, default=0,
                    help="legs kept free per worker for agent and team-lead legs")
    ap.add_argument("--overflow-room", type=int, default=0,
                    help="pool legs that may take callers for the busy announcement")
    ap.add_argument("--allow", action="append", default=[], help="allowed peer IP or CIDR")
    ap.add_argument("--auto-answer", action="store_true", help="answer every call at once")
    ap.add_argument("--user", default="ccd", help="user part of this worker's own URI")
    ap.add_argument("--registrar", default="", help="REGISTER to this URI (sip:host[:port])")
    ap.add_argument("--reg-user", default="")
    ap.add_argument("--reg-realm", default="*")
    ap.add_argument("--reg-expires", type=int, default=300)
    ap.add_argument("--log-level", choices=tuple(PJ_LOG_LEVELS), default="warning")
    ap.add_argument("--poll-ms", type=float, default=5.0, help="sleep between pj polls")
    ap.add_argument("--silence-level", type=int, default=6, help="rx level counted as silence")
    a = ap.parse_args(argv)
    return WorkerOptions(
        fd=a.fd,
        mode=a.mode,
        listen=a.listen,
        sip_port=a.sip_port,
        public_address=a.public_address,
        media_address=a.media_address,
        tcp=not a.no_tcp,
        rtp_port=a.rtp_port,
        rtp_range=a.rtp_range,
        max_calls=a.max_calls,
        max_cps=a.max_cps,
        extra_legs=a.extra_legs,
        followup_pool=a.followup_pool,
        overflow_room=a.overflow_room,
        allowed_peers=a.allow,
        auto_answer=a.auto_answer,
        user=a.user,
        registrar=a.registrar,
        reg_user=a.reg_user,
        reg_realm=a.reg_realm,
        reg_expires=a.reg_expires,
        log_level=a.log_level,
        poll_ms=a.poll_ms,
        silence_level=a.silence_level,
    )


def main(argv: list[str] | None = None) -> int:
    opts = parse_args(argv)
    logging.basicConfig(
        level=getattr(logging, opts.log_level.upper()),
        stream=sys.stderr,
        format=f"sipworker[{os.getpid()}] %(levelname)s %(message)s",
    )
    if opts.registrar and not os.environ.get(PASSWORD_ENV):
        logging.getLogger("hw.sipworker").warning("registrar set but %s is empty", PASSWORD_ENV)
    os.dup2(2, 1)  # pjsua2 logs to stdout; keep everything of ours on stderr
    sock = socket.socket(fileno=opts.fd)
    from hw.sipworker.worker import Worker

    return Worker(opts, sock).run()


if __name__ == "__main__":
    sys.exit(main())
