"""Checks the contracts' custom options (run by `make lint`, after `make gen`):
every RPC says who may call it, every event where it is published. The rules
are in stack/contract_rules.py.

    python tools/check_contracts.py
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from stack import contract_rules  # after the path is set


def main() -> int:
    found = contract_rules.problems(contract_rules.load())
    for problem in found:
        print(f"contracts: {problem}", file=sys.stderr)
    return 1 if found else 0


if __name__ == "__main__":
    raise SystemExit(main())
