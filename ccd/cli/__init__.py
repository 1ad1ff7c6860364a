"""The `ccd` command line; the app is assembled in `ccd.cli.main` (kept out of this package's
import so command modules can import `ccd.cli.context` without building the whole app)."""
