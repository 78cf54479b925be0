"""The kit's self-test: the suite and bare Schemathesis against the reference server, clean and with each fault."""
