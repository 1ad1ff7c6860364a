"""The socket API: how the CLI and the TUIs talk to the daemon.

protocol.py   wire format, framing, ClientProtocol (no I/O)    catalogue.py  error messages zh/en
registry.py   @method(name, roles=..., params=...)             auth.py       scrypt, SO_PEERCRED
server.py     serve_api (trio), Services protocol              broker.py     pub/sub for events
limits.py     token bucket                                     client.py     SyncClient (CLI)
methods/      the methods, one module per noun                 (tui/client.py: AsyncioClient)

Nothing is imported here, so `ccd.api.auth` or `ccd.api.client` load without the server.
"""
