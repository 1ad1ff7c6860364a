"""A site answers from its first call: every prompt its flow can play exists before calls come.

`ccd init` and `ccd run` (at start-up and on every flow reload) call `prepare_prompts`: it makes
the missing prompts with espeak-ng when it can, and otherwise raises `PromptsMissing` naming
them and the command that makes them, so the daemon refuses to take calls instead of failing
each one. A prompt deleted under a running daemon is skipped by the IVR (see `ivr.engine`).
"""

from __future__ import annotations

from ccd.config import Config
from ccd.ivr.catalogue import load_catalogue
from ccd.ivr.check import needed_prompts
from ccd.ivr.flow import Flow
from ccd.ivr.prompts import PromptsMissing, ensure_prompts

__all__ = ["PromptsMissing", "build_command", "prepare_prompts"]


def build_command(config: Config) -> str:
    return f"ccd --config {config.source} prompts build" if config.source else "ccd prompts build"


def prepare_prompts(config: Config, flow: Flow) -> list[str]:
    """Make the missing prompts `flow` can play; return the `lang/name` of those made.

    Blocking (it may run espeak-ng): call it from a worker thread in async code.
    """
    catalogue = load_catalogue()
    return ensure_prompts(config.path(config.paths.prompts), needed_prompts(flow, catalogue),
                          catalogue=catalogue, build_command=build_command(config))
