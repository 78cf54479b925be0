#!/usr/bin/env python3
"""An SMS inbox for `kesk-conformance run --inbox sms=command:CMD`, written as a staging team writes one.

The suite runs CMD with three more arguments, CHANNEL ADDRESS PURPOSE (also as KESK_CHANNEL, KESK_ADDRESS,
KESK_PURPOSE), for example `sms +358401234567 phone_verification`; the command prints the newest code sent
to ADDRESS for PURPOSE (nothing when none came) and exits 0. Any other exit status is an error.

A staging team asks its SMS provider's test API or an SMS sink here. This one reads the reference server's
outbox (`GET /_test/outbox`, out of the suite's sight: the suite itself is not told where test support is).

    read-sms.py SINK_BASE_URL CHANNEL ADDRESS PURPOSE
"""

from __future__ import annotations

import json
import sys
import urllib.error
import urllib.parse
import urllib.request


def main(argv: list[str]) -> int:
    if len(argv) != 4:
        print("usage: read-sms.py SINK_BASE_URL CHANNEL ADDRESS PURPOSE", file=sys.stderr)
        return 2
    sink, channel, address, purpose = argv
    query = urllib.parse.urlencode({"channel": channel, "address": address, "purpose": purpose})
    try:
        with urllib.request.urlopen(f"{sink.rstrip('/')}/_test/outbox?{query}", timeout=30) as answer:
            messages = json.load(answer)["messages"]
    except (urllib.error.URLError, KeyError, ValueError) as exc:
        print(f"read-sms: cannot read the SMS sink: {exc}", file=sys.stderr)
        return 1
    mine = [m for m in messages if m.get("address") == address and m.get("purpose") == purpose]
    if mine:
        print(mine[-1]["code"])
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
