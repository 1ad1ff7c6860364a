"""Analog lines through V.253 voice modems: the I/O-free core (`core`, `dle`, `callerid`,
`audio`) and the trio/pyserial driver around it (`line`, `channel`, `driver`)."""
