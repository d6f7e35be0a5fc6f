"""``rota completion SHELL``: the shell completion script, to source from a shell's rc file."""

from __future__ import annotations

import click
from click.shell_completion import get_completion_class

from rota.cli.errors import CliError

SHELLS = ("bash", "zsh", "fish")


@click.command("completion")
@click.argument("shell", type=click.Choice(SHELLS))
@click.pass_context
def completion(ctx: click.Context, shell: str) -> None:
    """Print the completion script for SHELL.

    \b
    bash:  eval "$(rota completion bash)"   (in ~/.bashrc)
    zsh:   eval "$(rota completion zsh)"    (in ~/.zshrc)
    fish:  rota completion fish > ~/.config/fish/completions/rota.fish
    """
    root = ctx.find_root().command
    cls = get_completion_class(shell)
    if cls is None:  # pragma: no cover - every listed shell is built into click
        raise CliError(f"no completion for {shell}")
    click.echo(cls(root, {}, "rota", "_ROTA_COMPLETE").source())
