"""python -m labbook inspect SOURCE             what a tracker store holds, and which analyses it
                                              can feed with which mapping (make inspect S=...)
python -m labbook params NOTEBOOK SOURCE NAME   write params/NOTEBOOK/NAME.yaml with that mapping
                                              (make params NB=... S=... NAME=...)

The store is read through the tracker layer (read-only, cached: labbook.sources.trackers); its
summary comes from labbook.sources.inspect, the mapping from labbook.runner.proposeparams.
"""

import sys

from labbook.inputs import InputError


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    from labbook.runner import proposeparams

    try:
        if len(args) == 2 and args[0] == "inspect":
            print(proposeparams.inspect_text(args[1]))
            return 0
        if len(args) == 4 and args[0] == "params":
            return proposeparams.main(args[1:])
    except InputError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    print(__doc__, file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main())
