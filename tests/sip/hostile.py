"""Malformed and hostile SIP for the edge battery: every kind of message a scanner, a fuzzer or a
broken trunk sends. Each message is (kind, bytes); `third` is an address that must never receive
anything (it is named in Via, Contact, Route and Request-URIs: reflection bait).

The INVITE variants are the ones that abort the pinned pjsua2 2.10 when they reach it (an INVITE
without a body, truncated or garbage SDP: `pjmedia_sdp_parse: Assertion ...`).
"""

from __future__ import annotations

import random
from collections.abc import Callable, Iterator

GOOD_SDP = (
    "v=0\r\n"
    "o=- 3890000000 3890000000 IN IP4 {host}\r\n"
    "s=pjmedia\r\n"
    "b=AS:84\r\n"
    "t=0 0\r\n"
    "a=X-nat:0\r\n"
    "m=audio {media_port} RTP/AVP 8 0 101\r\n"
    "c=IN IP4 {host}\r\n"
    "b=TIAS:64000\r\n"
    "a=rtcp:{rtcp_port} IN IP4 {host}\r\n"
    "a=sendrecv\r\n"
    "a=rtpmap:8 PCMA/8000\r\n"
    "a=rtpmap:0 PCMU/8000\r\n"
    "a=rtpmap:101 telephone-event/8000\r\n"
    "a=fmtp:101 0-16\r\n"
)

METHODS_NOT_SERVED = ["SUBSCRIBE", "MESSAGE", "REGISTER", "PUBLISH", "REFER", "NOTIFY",
                      "UPDATE", "PRACK", "INFO", "FOO", "OPTIONS"]

Message = tuple[str, bytes]


class Battery:
    """Builds hostile messages for the edge at `edge` (host, port), sent from `source`
    (host, port), naming `third` (host, port) wherever an address can be named."""

    def __init__(self, edge: tuple[str, int], third: tuple[str, int], seed: int = 12) -> None:
        self.edge = edge
        self.third = third
        self.rng = random.Random(seed)
        self.n = 0

    # --- pieces ---
    def _id(self) -> str:
        self.n += 1
        return f"{self.n:06d}{self.rng.getrandbits(32):08x}"

    def sdp(self) -> str:
        host = self.third[0]
        port = self.rng.randrange(20000, 60000, 2)
        return GOOD_SDP.format(host=host, media_port=port, rtcp_port=port + 1)

    def request(self, method: str, source: tuple[str, int], body: str | bytes = b"",
                ctype: str = "application/sdp", *, uri: str = "", extra: str = "",
                to_tag: bool = False, length: int | None = None, via_third: bool = True
                ) -> bytes:
        eh, ep = self.edge
        th, tp = self.third
        sh, sp = source
        body_bytes = body.encode("utf-8", "surrogateescape") if isinstance(body, str) else body
        via_host, via_port = (th, tp) if via_third else (sh, sp)
        tag = f";tag=t{self._id()}" if to_tag else ""
        head = (
            f"{method} {uri or f'sip:95598@{eh}:{ep}'} SIP/2.0\r\n"
            f"Via: SIP/2.0/UDP {via_host}:{via_port};branch=z9hG4bK{self._id()}\r\n"
            f"From: <sip:13800138000@{sh}>;tag=f{self._id()}\r\n"
            f"To: <sip:95598@{eh}:{ep}>{tag}\r\n"
            f"Call-ID: hostile-{self._id()}\r\n"
            f"CSeq: {self.rng.randrange(1, 1000)} {method}\r\n"
            f"Contact: <sip:victim@{th}:{tp}>\r\n"
            f"Max-Forwards: 70\r\n"
            f"{extra}"
        )
        if body_bytes or method == "INVITE":
            head += f"Content-Type: {ctype}\r\n"
        n = len(body_bytes) if length is None else length
        return (head + f"Content-Length: {n}\r\n\r\n").encode() + body_bytes

    # --- variants (each returns one message from `source`) ---
    def invite_no_body(self, s: tuple[str, int]) -> Message:
        return "invite-no-body", self.request("INVITE", s)

    def invite_truncated_sdp(self, s: tuple[str, int]) -> Message:
        sdp = self.sdp()
        cut = self.rng.randrange(1, len(sdp) - 1)
        length = self.rng.choice([cut, len(sdp)])  # honest or lying Content-Length
        return "invite-truncated-sdp", self.request("INVITE", s, sdp[:cut], length=length)

    def invite_garbage_sdp(self, s: tuple[str, int]) -> Message:
        body = self.rng.randbytes(self.rng.randrange(1, 900))
        return "invite-garbage-sdp", self.request("INVITE", s, body)

    def invite_mutated_sdp(self, s: tuple[str, int]) -> Message:
        sdp = bytearray(self.sdp().encode())
        for _ in range(self.rng.randrange(1, 6)):
            i = self.rng.randrange(len(sdp))
            sdp[i] = self.rng.choice(b"\x00\r\n =:/ \xff0a-9zv")
        if self.rng.random() < 0.3:
            del sdp[self.rng.randrange(len(sdp)):]
        return "invite-mutated-sdp", self.request("INVITE", s, bytes(sdp))

    def invite_sdp_lines_shuffled(self, s: tuple[str, int]) -> Message:
        lines = self.sdp().split("\r\n")[:-1]
        self.rng.shuffle(lines)
        drop = self.rng.randrange(len(lines))
        body = "\r\n".join(lines[:drop] + lines[drop + 1:]) + self.rng.choice(["\r\n", "", "\n"])
        return "invite-sdp-shuffled", self.request("INVITE", s, body)

    def invite_wrong_type(self, s: tuple[str, int]) -> Message:
        ctype = self.rng.choice(["text/plain", "multipart/mixed;boundary=x", "application/sdp2",
                                 "application/isup"])
        return "invite-wrong-type", self.request("INVITE", s, self.sdp(), ctype)

    def invite_length_lies(self, s: tuple[str, int]) -> Message:
        sdp = self.sdp()
        length = self.rng.choice([0, 1, len(sdp) + 1, len(sdp) * 3, 99999999, -1])
        return "invite-length-lies", self.request("INVITE", s, sdp, length=length)

    def oversized_header(self, s: tuple[str, int]) -> Message:
        size = self.rng.choice([9000, 20000, 60000])
        extra = f"X-Big: {'A' * size}\r\n"
        return "oversized-header", self.request("INVITE", s, self.sdp(), extra=extra)

    def many_headers(self, s: tuple[str, int]) -> Message:
        extra = "".join(f"Via: SIP/2.0/UDP {self.third[0]}:{i}\r\n" for i in range(300))
        return "many-headers", self.request("OPTIONS", s, extra=extra)

    def random_bytes(self, s: tuple[str, int]) -> Message:
        return "random-bytes", self.rng.randbytes(self.rng.randrange(1, 1400))

    def truncated_message(self, s: tuple[str, int]) -> Message:
        whole = self.request("INVITE", s, self.sdp())
        return "truncated-message", whole[: self.rng.randrange(1, len(whole))]

    def header_fuzz(self, s: tuple[str, int]) -> Message:
        bad = self.rng.choice([
            "Via: SIP/2.0/UDP\r\n", "CSeq: 99999999999999999999 INVITE\r\n", "CSeq: 1 BYE\r\n",
            "Max-Forwards: -5\r\n", "Max-Forwards: 0\r\n", "Call-ID: \r\n", "From: <>\r\n",
            "To: \x00\x01\r\n", "Contact: <sip:@:>\r\n", "Expires: -1\r\n",
            "Proxy-Require: evil\r\n", "Require: 100rel, timer, evil\r\n",
            "Session-Expires: 0;refresher=\r\n", "Route: <sip:" + "x" * 900 + ">\r\n",
            "Content-Type: \r\n", "Record-Route: <sip:127.0.0.9:1;lr>\r\n",
            "Supported: " + ",".join(["x"] * 400) + "\r\n", "P-Asserted-Identity: <<<>>>\r\n",
        ])
        return "header-fuzz", self.request("INVITE", s, self.sdp(), extra=bad)

    def bad_request_uri(self, s: tuple[str, int]) -> Message:
        uri = self.rng.choice(["sip:", "sip:@", "tel:+86", "http://x/", "sip:95598@[::1",
                               f"sip:95598@{self.third[0]}:{self.third[1]}", "sip:" + "9" * 2000])
        return "bad-request-uri", self.request("INVITE", s, self.sdp(), uri=uri)

    def method_not_served(self, s: tuple[str, int]) -> Message:
        method = self.rng.choice(METHODS_NOT_SERVED)
        extra = "Event: presence\r\nExpires: 3600\r\n" if method in ("SUBSCRIBE", "PUBLISH") else ""
        body = "hello" if method == "MESSAGE" else b""
        return f"method-{method.lower()}", self.request(
            method, s, body, "text/plain", extra=extra)

    def forged_in_dialog(self, s: tuple[str, int]) -> Message:
        eh, ep = self.edge
        th, tp = self.third
        method = self.rng.choice(["BYE", "INFO", "INVITE", "ACK", "UPDATE", "NOTIFY"])
        body = self.sdp() if method in ("INVITE", "UPDATE") else b""
        route = f"Route: <sip:{eh}:{ep};lr;did=abc.123>\r\n"
        return "forged-in-dialog", self.request(
            method, s, body, uri=f"sip:victim@{th}:{tp}", extra=route, to_tag=True)

    def unsolicited_response(self, s: tuple[str, int]) -> Message:
        th, tp = self.third
        code = self.rng.choice(["200 OK", "180 Ringing", "487 Terminated", "401 Unauthorized"])
        msg = (
            f"SIP/2.0 {code}\r\nVia: SIP/2.0/UDP {self.edge[0]}:{self.edge[1]};branch=z9hG4bKx"
            f"\r\nVia: SIP/2.0/UDP {th}:{tp};branch=z9hG4bK{self._id()}\r\n"
            f"From: <sip:a@{th}>;tag=1\r\nTo: <sip:b@{th}>;tag=2\r\nCall-ID: r-{self._id()}\r\n"
            f"CSeq: 1 INVITE\r\nContent-Type: application/sdp\r\nContent-Length: 10\r\n\r\n"
            f"v=0\r\no=\r\ns"
        )
        return "unsolicited-response", msg.encode()

    def variants(self) -> list[Callable[[tuple[str, int]], Message]]:
        return [
            self.invite_no_body, self.invite_truncated_sdp, self.invite_garbage_sdp,
            self.invite_mutated_sdp, self.invite_sdp_lines_shuffled, self.invite_wrong_type,
            self.invite_length_lies, self.oversized_header, self.many_headers,
            self.random_bytes, self.truncated_message, self.header_fuzz, self.bad_request_uri,
            self.method_not_served, self.forged_in_dialog, self.unsolicited_response,
        ]

    def mix(self, count: int, sources: list[tuple[str, int]]) -> Iterator[tuple[int, Message]]:
        """`count` messages, every variant in turn, each from the next of `sources`; yields
        (index of the source, message)."""
        variants = self.variants()
        for i in range(count):
            which = i % len(sources)
            yield which, variants[i % len(variants)](sources[which])

    def flood(self, method: str, source: tuple[str, int]) -> bytes:
        """One message of a flood: INVITE (bad SDP), REGISTER, SUBSCRIBE or OPTIONS."""
        if method == "INVITE":
            return self.request("INVITE", source, self.sdp()[:40])
        extra = "Event: presence\r\nExpires: 3600\r\n" if method == "SUBSCRIBE" else ""
        return self.request(method, source, extra=extra)

    def valid_invite(self, source: tuple[str, int], *, via_third: bool = False) -> bytes:
        """A well-formed call (the edge must drop it from an unknown source)."""
        return self.request("INVITE", source, self.sdp(), via_third=via_third)
