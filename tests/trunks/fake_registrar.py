"""A small SIP registrar over real UDP for the trunk tests: challenges every REGISTER with a
digest 401 and answers 200 only when the response matches `password`."""

from __future__ import annotations

import trio

from hw.registrar import digest_response, parse_challenge

REALM = "ccd-test"


class FakeRegistrar:
    def __init__(self, password: str) -> None:
        self.password = password
        self.sock = trio.socket.socket(trio.socket.AF_INET, trio.socket.SOCK_DGRAM)
        self.registers = 0
        self.answers: list[int] = []
        self.contacts: list[str] = []
        self.nonce = 0

    async def bind(self) -> int:
        await self.sock.bind(("127.0.0.1", 0))
        return int(self.sock.getsockname()[1])

    async def serve(self) -> None:
        with self.sock:
            while True:
                data, peer = await self.sock.recvfrom(65536)
                reply = self.answer(data.decode(errors="replace"))
                if reply:
                    await self.sock.sendto(reply.encode(), peer)

    def answer(self, text: str) -> str:
        lines = text.split("\r\n\r\n", 1)[0].split("\r\n")
        if not lines[0].startswith("REGISTER "):
            return ""
        self.registers += 1
        uri = lines[0].split(" ")[1]
        headers = {}
        for line in lines[1:]:
            name, _, value = line.partition(":")
            headers[name.strip().lower()] = value.strip()
        self.contacts.append(headers.get("contact", ""))
        keep = "".join(f"{h}: {headers[h.lower()]}\r\n"
                       for h in ("Via", "From", "To", "Call-ID", "CSeq") if h.lower() in headers)
        auth = headers.get("authorization", "")
        if auth:
            c = parse_challenge(auth)
            expected = digest_response(username=c.get("username", ""), password=self.password,
                                       realm=REALM, method="REGISTER", uri=uri,
                                       nonce=c.get("nonce", ""), qop=c.get("qop", ""),
                                       nc=c.get("nc", ""), cnonce=c.get("cnonce", ""))
            if c.get("response") == expected and c.get("nonce") == f"n{self.nonce}":
                self.answers.append(200)
                return (f"SIP/2.0 200 OK\r\n{keep}Contact: {headers.get('contact', '')};"
                        f"expires=120\r\nContent-Length: 0\r\n\r\n")
        self.nonce += 1
        self.answers.append(401)
        return (f"SIP/2.0 401 Unauthorized\r\n{keep}WWW-Authenticate: Digest realm=\"{REALM}\", "
                f"nonce=\"n{self.nonce}\", qop=\"auth\", algorithm=MD5\r\n"
                f"Content-Length: 0\r\n\r\n")
