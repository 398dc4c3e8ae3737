"""The operator's commands, added to the `litestar` CLI: `litestar resellers|contracts|demo ...`."""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path

import click
from litestar.plugins import CLIPluginProtocol

from app.errors import ValidationFailed


def _run(coroutine):
    return asyncio.run(coroutine)


class CLIPlugin(CLIPluginProtocol):
    def on_cli_init(self, cli: click.Group) -> None:
        cli.add_command(resellers)
        cli.add_command(contracts)
        cli.add_command(demo)


@click.group(help="Manage resellers.")
def resellers() -> None:
    pass


@resellers.command("create", help="Create a reseller and its first administrator.")
@click.option("--code", required=True, help="Short unique code, e.g. DEMO.")
@click.option("--name", required=True)
@click.option("--email", required=True)
@click.option("--admin-username", required=True)
@click.option("--admin-email", required=True)
@click.option("--admin-first-name", default="")
@click.option("--admin-last-name", default="")
def create_reseller_command(code, name, email, admin_username, admin_email,
                            admin_first_name, admin_last_name) -> None:
    from app.resellers import create_reseller

    try:
        _, link = _run(create_reseller(
            code=code, name=name, email=email, admin_username=admin_username,
            admin_email=admin_email, admin_first_name=admin_first_name,
            admin_last_name=admin_last_name,
        ))
    except ValidationFailed as refused:
        for field, message in refused.errors.items():
            click.echo(f"{field}: {message}", err=True)
        sys.exit(1)
    click.echo(f"Reseller {code.upper()} created. The administrator chooses a password here "
               f"(valid 72 hours, single use):\n{link}")


@click.group(help="Manage contracts.")
def contracts() -> None:
    pass


@contracts.command("import", help="Import contracts from a CSV file, all or nothing.")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--reseller", "reseller_code", required=True, help="The reseller's code.")
def import_command(file: Path, reseller_code: str) -> None:
    from app.contracts.csv_import import ImportRefused, import_contracts
    from app.resellers import reseller_id_for

    async def run() -> int:
        reseller_id = await reseller_id_for(reseller_code)
        return len(await import_contracts(file.read_text(encoding="utf-8"), reseller_id))

    try:
        count = _run(run())
    except UnicodeDecodeError:
        click.echo("ligne 1 : le fichier n'est pas en UTF-8", err=True)
        sys.exit(1)
    except ValidationFailed as refused:
        click.echo(" ".join(refused.errors.values()), err=True)
        sys.exit(1)
    except ImportRefused as refused:
        for error in refused.errors:
            click.echo(str(error), err=True)
        click.echo(f"Nothing imported: {len(refused.errors)} error(s).", err=True)
        sys.exit(1)
    click.echo(f"{count} contract(s) imported.")


@click.group(help="Demonstration data.")
def demo() -> None:
    pass


@demo.command("load", help="Load the guide's demo data (does nothing if already loaded).")
def load_command() -> None:
    from app.demo import load_demo

    if _run(load_demo()):
        click.echo("Demo data loaded.")
    else:
        click.echo("Demo data already present; nothing changed.")
