"""``moltwin`` command line. Heavy imports live inside the commands so ``--help`` is instant.

Exit codes: 0 ok, 1 the run failed (or committed with some invalid rows), 2 bad input.
Each area registers its commands from its own module (``interfaces/cli/<area>.py``).
"""

from __future__ import annotations

import json
import sys

import typer

app = typer.Typer(help="MolTwin: the digital twin of a compound series. "
                  "Generate, filter, predict, simulate, sync assays, rank and report.",
                  no_args_is_help=True, add_completion=False, pretty_exceptions_enable=False,
                  # Plain help: flags show as flags (rich help in this typer prints `--dry-run <bool>`).
                  rich_markup_mode=None)

DbOpt = typer.Option(None, "--db", help="Twin store: database URL or SQLite path "
                     "(default: $MOLTWIN_DB, else ./moltwin.db).")
JsonOpt = typer.Option(False, "--json", help="Print machine-readable JSON on stdout.")


@app.callback()
def _before_any_command() -> None:
    """Checks that run before every command: a broken MOLTWIN_HOME stops it before any write."""
    from moltwin.errors import BadInputError
    from moltwin.paths import check_twin_home

    try:
        check_twin_home()
    except BadInputError as exc:
        fail(exc)


def fail(exc: BaseException) -> None:
    """Map MolTwin errors to their exit code with a one-paragraph message; re-raise anything else."""
    from moltwin.errors import MolTwinError

    if isinstance(exc, MolTwinError):
        typer.echo(f"moltwin: error: {exc}", err=True)
        raise typer.Exit(exc.exit_code)
    raise exc


def emit(payload: object, as_json: bool, text: str) -> None:
    typer.echo(json.dumps(payload, indent=2, default=str) if as_json else text)


from interfaces.cli import assays, assays_plates, chem, db, models, run, serve, simulate  # noqa: E402,F401  (registers the commands)


def main() -> None:
    try:
        app()
    except KeyboardInterrupt:  # pragma: no cover
        sys.exit(130)
