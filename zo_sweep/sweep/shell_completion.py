"""Tab completion in bash for `python -m zo_sweep ...` and `zo-sweep ...`, through Hydra's own.

    eval "$(python -m zo_sweep -sc install=bash)"     # or --shell-completion install=bash

Hydra completes two forms of command: `python script.py` and an installed app. `python -m
zo_sweep` is neither: Hydra's install script looks for a file named `-m` and gives up, and its
query reads `-m zo_sweep` as overrides. So this module writes the install script itself (it
asks `<the same command> -sc query=bash` for the words), and hands Hydra each query with the
command's name in the one form Hydra strips (`zo_sweep <arguments>`). Hydra then lists the
config groups, their options and the config's keys as it does for any app.
"""

from __future__ import annotations

import os
import re

FLAGS = ("-sc", "--shell-completion")
SUBCOMMANDS = ("install", "uninstall", "query")
SHELLS = ("bash", "zsh", "fish")  # Hydra's completion plugins
INSTALL_BASH = "install=bash"
UNINSTALL_BASH = "uninstall=bash"
APP = "zo_sweep"
SCRIPT_NAME = "zo-sweep"
# How a completed line starts: `[/path/]python[3[.11]] -m zo_sweep` or `[/path/]zo-sweep`.
COMMAND = re.compile(
    rf"^\s*(?:\S*/)?(?:python[\d.]*\s+-m\s+{APP}|{re.escape(SCRIPT_NAME)})(?=\s|$)"
)

BASH_SCRIPT = r"""
# What completed these commands before, for -sc uninstall=bash.
export _ZO_SWEEP_OLD_COMPLETION="$(complete -p python python3 zo-sweep 2>/dev/null)"
_zo_sweep_completion()
{
    local words=($COMP_LINE) app
    if [ "${words[1]}" == "-m" ] && [ "${words[2]}" == "zo_sweep" ]; then
        app="${words[0]} -m zo_sweep"
    elif [ "${words[0]##*/}" == "zo-sweep" ]; then
        app="${words[0]}"
    else
        return  # another python command: the shell's own completion (file names)
    fi
    local choices
    choices=$(COMP_POINT=$COMP_POINT COMP_LINE=$COMP_LINE $app -sc query=bash 2>/dev/null)
    COMPREPLY=($(compgen -o nospace -o default -W "$choices" -- "${words[$COMP_CWORD]}"))
}
# key=value is one word, as Hydra's own script has it.
COMP_WORDBREAKS=${COMP_WORDBREAKS//=}
complete -o nospace -o default -F _zo_sweep_completion python python3 zo-sweep
"""
BASH_UNINSTALL = """
complete -r python python3 zo-sweep 2>/dev/null
unset -f _zo_sweep_completion
eval "$_ZO_SWEEP_OLD_COMPLETION"
unset _ZO_SWEEP_OLD_COMPLETION
"""


def requested(arguments: list[str]) -> bool:
    """Whether the command line asks for shell completion (-sc or --shell-completion)."""
    return any(argument in FLAGS for argument in arguments)


def problem(arguments: list[str]) -> str | None:
    """What is wrong with a completion request, in one line (None: nothing)."""
    requests = [argument for argument in arguments if argument not in FLAGS]
    commands = [request.partition("=") for request in requests]
    if len(commands) != 1 or commands[0][0] not in SUBCOMMANDS or commands[0][2] not in SHELLS:
        return (f"{' '.join(arguments)}: use -sc install=bash (to install the completion), "
                f"uninstall=bash or query=bash (shells: {', '.join(SHELLS)})")  # fmt: skip
    if commands[0][0] == "query" and "COMP_LINE" not in os.environ:
        return "-sc query=... completes the line in COMP_LINE, which the shell sets: none is set"
    return None


def handled_here(arguments: list[str]) -> bool:
    """Answer what Hydra cannot; True when done (bash's install or uninstall script printed).

    Otherwise the query's line is put in the form Hydra reads, and Hydra does the rest.
    """
    for request, script in ((INSTALL_BASH, BASH_SCRIPT), (UNINSTALL_BASH, BASH_UNINSTALL)):
        if request in arguments:
            print(script.strip())
            return True
    line = os.environ.get("COMP_LINE")
    if line is not None:
        os.environ["COMP_LINE"] = COMMAND.sub(APP, line, count=1)
    return False
