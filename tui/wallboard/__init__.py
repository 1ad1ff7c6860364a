"""The supervisor wallboard (监控大屏): a Textual app drawing what the daemon's publisher pushes."""
