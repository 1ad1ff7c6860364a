"""The IVR: flows as TOML data, a sans-I/O walker, and a trio engine that runs it on a Channel.

    catalogue.py  prompt texts per language (catalog/<lang>.toml)      say.py     values -> prompts
    synth.py      espeak-ng + sox for one prompt                        prompts.py build and find WAVs
    nodes.py      node kinds as msgspec structs                         flow.py    parse, validate_flow
    check.py      cross-node checks (targets, prompts, variables)       sources.py lookup contract
    actions.py    walker <-> engine messages                            walker.py  decides, no I/O
    calendar.py   business hours and holidays                           engine.py  runs a call (trio)
    cli.py        `ccd flows validate`, `ccd prompts build`
"""
