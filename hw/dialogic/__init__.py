"""Dialogic voice boards through the R4 API (ctypes on libdxxx / libsrl)."""
