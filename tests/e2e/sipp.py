"""One SIPp caller for end-to-end tests: dials the hotline, sends G.711 audio and an RFC 4733
digit a few times (the menu takes the first one it hears), hangs up. ACK and BYE follow the
Record-Route, so it works through the Kamailio edge."""

from __future__ import annotations

import random
from pathlib import Path

import trio

from tests.daemon_proc import free_port

PCAP_DIR = Path("/usr/share/sip-tester")

SCENARIO = """<?xml version="1.0" encoding="ISO-8859-1" ?>
<!DOCTYPE scenario SYSTEM "sipp.dtd">
<scenario name="ccd test caller">
  <send retrans="500"><![CDATA[

      INVITE sip:[service]@[remote_ip]:[remote_port] SIP/2.0
      Via: SIP/2.0/[transport] [local_ip]:[local_port];branch=[branch]
      From: caller <sip:[caller]@[local_ip]:[local_port]>;tag=[pid]T[call_number]
      To: [service] <sip:[service]@[remote_ip]:[remote_port]>
      Call-ID: [call_id]
      CSeq: 1 INVITE
      Contact: sip:[caller]@[local_ip]:[local_port]
      Max-Forwards: 70
      Content-Type: application/sdp
      Content-Length: [len]

      v=0
      o=user1 53655765 2353687637 IN IP[local_ip_type] [local_ip]
      s=-
      c=IN IP[local_ip_type] [local_ip]
      t=0 0
      m=audio [auto_media_port] RTP/AVP 8 101
      a=rtpmap:8 PCMA/8000
      a=rtpmap:101 telephone-event/8000
      a=fmtp:101 0-11,16

  ]]></send>
  <recv response="100" optional="true"></recv>
  <recv response="180" optional="true"></recv>
  <recv response="183" optional="true"></recv>
  <recv response="200" rrs="true" crlf="true"></recv>
  <send><![CDATA[

      ACK [next_url] SIP/2.0
      Via: SIP/2.0/[transport] [local_ip]:[local_port];branch=[branch]
      From: caller <sip:[caller]@[local_ip]:[local_port]>;tag=[pid]T[call_number]
      To: [service] <sip:[service]@[remote_ip]:[remote_port]>[peer_tag_param]
      Call-ID: [call_id]
      CSeq: 1 ACK
      [routes]
      Max-Forwards: 70
      Content-Length: 0

  ]]></send>
  <nop><action><exec play_pcap_audio="pcap/g711a.pcap"/></action></nop>
{digits}
  <send retrans="500"><![CDATA[

      BYE [next_url] SIP/2.0
      Via: SIP/2.0/[transport] [local_ip]:[local_port];branch=[branch]
      From: caller <sip:[caller]@[local_ip]:[local_port]>;tag=[pid]T[call_number]
      To: [service] <sip:[service]@[remote_ip]:[remote_port]>[peer_tag_param]
      Call-ID: [call_id]
      CSeq: 2 BYE
      [routes]
      Max-Forwards: 70
      Content-Length: 0

  ]]></send>
  <recv response="200" crlf="true"></recv>
</scenario>
"""

DIGIT = """  <pause milliseconds="{pause}"/>
  <nop><action><exec play_pcap_audio="pcap/dtmf_2833_{digit}.pcap"/></action></nop>"""


def scenario(digit: str, times: int = 4, every_ms: int = 3500) -> str:
    digits = "\n".join(DIGIT.format(pause=every_ms, digit=digit) for _ in range(times))
    return SCENARIO.format(digits=digits + f'\n  <pause milliseconds="{every_ms}"/>')


def _prepare(workdir: Path, digit: str) -> None:
    workdir.mkdir(parents=True, exist_ok=True)
    pcap = workdir / "pcap"
    if not pcap.exists():
        pcap.symlink_to(PCAP_DIR)
    (workdir / "caller.xml").write_text(scenario(digit))


async def run_sipp_ivr_call(port: int, workdir: Path, digit: str = "1",
                            host: str = "127.0.0.1") -> str:
    """Place one call to `host:port` that presses `digit`; returns the calling number used.
    Raises AssertionError with SIPp's errors if the call failed."""
    await trio.to_thread.run_sync(_prepare, workdir, digit)
    caller = f"139{random.randrange(10**8):08d}"
    media = random.randrange(30000, 60000, 100)
    result = await trio.run_process(
        ["sipp", f"{host}:{port}", "-sf", "caller.xml", "-s", "95598", "-key", "caller", caller,
         "-i", "127.0.0.1", "-p", str(free_port()), "-mp", str(media), "-m", "1", "-l", "1", "-nostdin",
         "-timeout", "90s", "-recv_timeout", "20s", "-trace_err", "-error_file",
         str(workdir / "sipp-errors.log")],
        cwd=workdir, capture_stdout=True, capture_stderr=True, check=False,
    )
    if result.returncode != 0:
        errors = (workdir / "sipp-errors.log")
        text = errors.read_text(errors="replace")[-3000:] if errors.exists() else ""
        raise AssertionError(f"SIPp call failed ({result.returncode}):\n{text}\n"
                             f"{result.stderr.decode(errors='replace')[-1000:]}")
    return caller
