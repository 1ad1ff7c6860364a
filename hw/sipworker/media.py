"""Audio inside one worker: prompt players, recorders, bridges, supervision taps and hold.

Routing is kept as a set of directed edges between legs, `(src, dst)` meaning "what src's far end
says is sent to dst's far end". Edges outlive media changes: whenever a leg's audio port appears
or changes (`onCallMediaState`), every edge, player and recorder touching it is connected again.
A held leg keeps its edges but they are not connected while it is held.

Players are timed from their WAV length, never by overriding `onEof2` (it runs on pjmedia's own
thread and segfaulted 7 runs in 8). An unconnected player does not advance, so a prompt's clock
starts when it is first connected.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable
from typing import Any

import pjsua2 as pj

from hw.sipworker import protocol as p
from hw.sipworker.legs import Leg, Playback, Recording
from hw.sipworker.pjutil import PjFailure, pj_call
from hw.sipworker.wav import playlist_seconds

log = logging.getLogger("hw.sipworker")

PLAY_MARGIN = 0.06  # the bridge's frame or two of latency before the last samples are heard
LEVEL_CHECK_EVERY = 0.1
SPY_EDGES = {
    # supervisor S joins caller C and agent A (who are bridged both ways already)
    "listen": (("caller", "sup"), ("agent", "sup")),
    "whisper": (("caller", "sup"), ("agent", "sup"), ("sup", "agent")),
    "barge": (("caller", "sup"), ("agent", "sup"), ("sup", "agent"), ("sup", "caller")),
}


class CommandError(Exception):
    """A command the worker refuses: `code` is one of protocol.ERROR_CODES."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


def _connect(src: Any, dst: Any) -> None:
    pj_call(src.startTransmit, dst)


def _disconnect(src: Any, dst: Any) -> None:
    """Stop a transmission that may already be gone (a removed port disconnects itself)."""
    try:
        pj_call(src.stopTransmit, dst)
    except PjFailure:
        pass


class Media:
    """All audio routing of one worker. `legs` is the worker's table; `emit` sends an event."""

    def __init__(self, legs: dict[int, Leg], emit: Callable[[p.Msg], None], silence_level: int):
        self.legs = legs
        self.emit = emit
        self.silence_level = silence_level
        self.edges: set[tuple[int, int]] = set()
        self.spies: dict[int, tuple[int, int, str]] = {}  # supervisor -> (caller, agent, mode)
        self.music: dict[str, tuple[Any, set[int]]] = {}  # file -> (shared player, leg ids)

    # --- counts ---
    def players(self) -> int:
        own = sum(1 for leg in self.legs.values() if leg.playback is not None)
        return own + len(self.music)

    def recorders(self) -> int:
        return sum(1 for leg in self.legs.values() if leg.recording is not None)

    # --- connecting ---
    def _live(self, leg_id: int) -> Leg | None:
        leg = self.legs.get(leg_id)
        if leg is None or leg.audio is None or leg.held:
            return None
        return leg

    def _connect_edge(self, src_id: int, dst_id: int) -> None:
        src, dst = self._live(src_id), self._live(dst_id)
        if src is not None and dst is not None:
            _connect(src.audio, dst.audio)

    def _disconnect_edge(self, src_id: int, dst_id: int) -> None:
        src, dst = self.legs.get(src_id), self.legs.get(dst_id)
        if src is not None and dst is not None and src.audio is not None and dst.audio is not None:
            _disconnect(src.audio, dst.audio)

    def attach(self, leg: Leg, now: float) -> None:
        """The leg's audio port appeared or changed: connect everything that involves it."""
        if leg.audio is None:
            return
        if not leg.held:
            for src, dst in sorted(self.edges):
                if leg.id in (src, dst):
                    self._connect_edge(src, dst)
        elif leg.hold_music and leg.hold_music in self.music:
            _connect(self.music[leg.hold_music][0], leg.audio)
        if leg.playback is not None:
            _connect(leg.playback.player, leg.audio)
            if leg.playback.ends_at is None and not leg.playback.loop:
                leg.playback.ends_at = now + leg.playback.seconds + PLAY_MARGIN
        for other in self.legs.values():
            if other.recording is not None:
                other.recording.sources.discard(leg.id)  # its old port may be gone
                self.sync_recorder(other)

    # --- playback ---
    def play(self, leg: Leg, cmd: p.Play, now: float) -> None:
        seconds = 0.0 if cmd.loop else playlist_seconds(cmd.files)
        if cmd.loop:
            for path in cmd.files:
                if not os.path.exists(path):
                    raise CommandError("bad-wav", f"{path}: no such file")
        options = 0 if cmd.loop else pj.PJMEDIA_FILE_NO_LOOP
        player = pj.AudioMediaPlayer()
        if len(cmd.files) == 1:
            pj_call(player.createPlayer, cmd.files[0], options)
        else:
            names = pj.StringVector()
            for path in cmd.files:
                names.append(path)
            pj_call(player.createPlaylist, names, "prompts", options)
        self.finish_play(leg, "replaced")
        leg.playback = Playback(cmd.id, player, seconds, cmd.loop, cmd.barge_in)
        del player
        if leg.audio is not None:
            _connect(leg.playback.player, leg.audio)
            if not cmd.loop:
                leg.playback.ends_at = now + seconds + PLAY_MARGIN

    def finish_play(self, leg: Leg, reason: str, digit: str = "") -> None:
        playback, leg.playback = leg.playback, None
        if playback is None:
            return
        if leg.audio is not None:
            _disconnect(playback.player, leg.audio)
        playback.player = None  # the player's last reference: destroyed here, on the pj thread
        self.emit(p.PlayDone(leg=leg.id, id=playback.cmd_id, reason=reason, digit=digit))

    # --- recording ---
    def record(self, leg: Leg, cmd: p.Record, now: float) -> None:
        if leg.recording is not None:
            raise CommandError("bad-state", f"leg {leg.id} is already recording")
        directory = os.path.dirname(os.path.abspath(cmd.path))
        if not os.path.isdir(directory):
            raise CommandError("bad-argument", f"{directory}: no such directory")
        recorder = pj.AudioMediaRecorder()
        pj_call(recorder.createRecorder, cmd.path)
        leg.recording = Recording(
            cmd_id=cmd.id,
            path=cmd.path,
            recorder=recorder,
            started=now,
            max_until=now + cmd.max_seconds if cmd.max_seconds > 0 else None,
            silence_seconds=cmd.silence_seconds,
            stop_digits=cmd.stop_digits,
            include_peers=cmd.include_peers,
            next_level_check=now + LEVEL_CHECK_EVERY,
        )
        del recorder
        self.sync_recorder(leg)

    def sync_recorder(self, leg: Leg) -> None:
        """Connect the legs a recording should hear, and only those."""
        rec = leg.recording
        if rec is None:
            return
        wanted = {leg.id}
        if rec.include_peers:
            wanted |= {src for src, dst in self.edges if dst == leg.id}
        wanted = {i for i in wanted if i in self.legs and self.legs[i].audio is not None}
        for leg_id in rec.sources - wanted:
            other = self.legs.get(leg_id)
            if other is not None and other.audio is not None:
                _disconnect(other.audio, rec.recorder)
        for leg_id in wanted - rec.sources:
            _connect(self.legs[leg_id].audio, rec.recorder)
        rec.sources = wanted

    def finish_record(self, leg: Leg, reason: str, now: float, digit: str = "") -> None:
        rec, leg.recording = leg.recording, None
        if rec is None:
            return
        for leg_id in rec.sources:
            other = self.legs.get(leg_id)
            if other is not None and other.audio is not None:
                _disconnect(other.audio, rec.recorder)
        rec.recorder = None  # destroyed here: the WAV header is written and the file closed
        try:
            seconds = max(0.0, (os.path.getsize(rec.path) - 44) / 16000.0)
        except OSError:
            seconds = now - rec.started
        self.emit(
            p.RecordDone(
                leg=leg.id,
                id=rec.cmd_id,
                path=rec.path,
                seconds=round(seconds, 3),
                reason=reason,
                digit=digit,
            )
        )

    def check_silence(self, leg: Leg, now: float) -> bool:
        """Poll the leg's received level; True when the recording has been quiet long enough."""
        rec = leg.recording
        if (
            rec is None
            or rec.silence_seconds <= 0
            or leg.audio is None
            or now < rec.next_level_check
        ):
            return False
        rec.next_level_check = now + LEVEL_CHECK_EVERY
        # Measured on 2.10: the far end's speech shows in getTxLevel() of the call's port
        # (0 in silence, ~32 for a -12 dBFS tone); getRxLevel() stays 0.
        level = int(pj_call(leg.audio.getTxLevel))
        if level > self.silence_level:
            rec.quiet_since = None
            return False
        if rec.quiet_since is None:
            rec.quiet_since = now
        return now - rec.quiet_since >= rec.silence_seconds

    # --- routing ---
    def add_edges(self, pairs: list[tuple[int, int]]) -> None:
        for src, dst in pairs:
            if (src, dst) not in self.edges:
                self.edges.add((src, dst))
                self._connect_edge(src, dst)
        self._sync_all_recorders()

    def remove_edges(self, pairs: list[tuple[int, int]]) -> None:
        for src, dst in pairs:
            if (src, dst) in self.edges:
                self.edges.discard((src, dst))
                self._disconnect_edge(src, dst)
        self._sync_all_recorders()

    def _sync_all_recorders(self) -> None:
        for leg in self.legs.values():
            if leg.recording is not None and leg.recording.include_peers:
                self.sync_recorder(leg)

    def spy(self, caller: int, agent: int, supervisor: int, mode: str) -> None:
        if mode not in SPY_EDGES:
            raise CommandError("bad-argument", f"unknown spy mode {mode!r}")
        if len({caller, agent, supervisor}) != 3:
            raise CommandError("bad-argument", "caller, agent and supervisor must be three legs")
        self.unspy(supervisor)
        names = {"caller": caller, "agent": agent, "sup": supervisor}
        self.add_edges([(names[a], names[b]) for a, b in SPY_EDGES[mode]])
        self.spies[supervisor] = (caller, agent, mode)

    def unspy(self, supervisor: int) -> None:
        if self.spies.pop(supervisor, None) is not None:
            self.remove_edges([e for e in self.edges if supervisor in e])

    # --- hold ---
    def hold(self, leg: Leg, music: str) -> None:
        if leg.held:
            self.unhold(leg)
        if music and not os.path.exists(music):
            raise CommandError("bad-wav", f"{music}: no such file")
        for src, dst in sorted(self.edges):
            if leg.id in (src, dst):
                self._disconnect_edge(src, dst)
        leg.held = True
        leg.hold_music = music
        if music:
            if music not in self.music:
                player = pj.AudioMediaPlayer()
                pj_call(player.createPlayer, music, 0)
                self.music[music] = (player, set())
                del player
            self.music[music][1].add(leg.id)
            if leg.audio is not None:
                _connect(self.music[music][0], leg.audio)

    def unhold(self, leg: Leg) -> None:
        if not leg.held:
            return
        self._release_music(leg)
        leg.held = False
        for src, dst in sorted(self.edges):
            if leg.id in (src, dst):
                self._connect_edge(src, dst)

    def _release_music(self, leg: Leg) -> None:
        music, leg.hold_music = leg.hold_music, ""
        if not music or music not in self.music:
            return
        player, users = self.music[music]
        if leg.audio is not None:
            _disconnect(player, leg.audio)
        users.discard(leg.id)
        if not users:
            del self.music[music]
        del player

    # --- a leg ends ---
    def detach(self, leg: Leg, now: float) -> None:
        """The leg is gone: finish its media (events first), drop its edges and its audio."""
        self.finish_play(leg, "hangup")
        self.finish_record(leg, "hangup", now)
        self._release_music(leg)
        leg.held = False
        self.unspy(leg.id)
        for sup, (caller, agent, _mode) in list(self.spies.items()):
            if leg.id in (caller, agent):
                self.unspy(sup)
        gone = [e for e in self.edges if leg.id in e]
        self.edges.difference_update(gone)
        leg.audio = None
        leg.audio_port = -1
        leg.audio_index = -1
        self._sync_all_recorders()

    def drop_all(self) -> None:
        """Shutdown: release every player and recorder (no events)."""
        for leg in self.legs.values():
            leg.playback = None
            leg.recording = None
            leg.audio = None
        self.music.clear()
        self.edges.clear()
        self.spies.clear()
