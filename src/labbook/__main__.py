"""python -m labbook inspect SOURCE             what a tracker store holds, and which analyses it
                                              can feed with which mapping (make inspect S=...)
python -m labbook params NOTEBOOK SOURCE NAME   write params/NOTEBOOK/NAME.yaml with that mapping
                                              (make params NB=... S=... NAME=...)

The store is read through the tracker layer (read-only, cached: labbook.sources.trackers) and
summarised by labbook.sources.inspect; which analyses it can feed is the runner's part (each
notebook's parameters: labbook.runner.proposeparams). This launcher hands the command to that
module in place of this process (the analysis core never imports the runner).
"""

import os
import sys

COMMANDS = {"inspect": 2, "params": 4}  # command -> number of words with its arguments


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if not args or COMMANDS.get(args[0]) != len(args):
        print(__doc__, file=sys.stderr)
        return 2
    command = [sys.executable, "-m", "labbook.runner.proposeparams", *args]
    os.execv(sys.executable, command)
    return 0  # not reached: execv replaces this process


if __name__ == "__main__":
    sys.exit(main())
