"""`kesk-conformance soak`: the lifecycles as Locust users, every answer judged as in a conformance run.

- ``plan.py``: the command line (flags, ``KESK_*`` variables, the config file) as one validated `SoakPlan`,
  checked before any request (a non-loopback target needs ``--allow-remote-load``);
- ``cli.py``: the command. It runs Locust in a process of its own (Locust monkey-patches the standard
  library for gevent, which the suite's threads must not see) and prints what it wrote;
- ``engine.py`` and ``locustfile.py``: what runs inside Locust. Each user is one lifecycle's walk
  (conformance.checks.races.walks) on a disposable account, a round of 2-4 requests at once per task,
  each round judged against the lifecycle's model (conformance.history.successors) and every answer by the
  observers of conformance.checks.responses; at the end the report directory gets results.json, junit.xml
  and report.html beside Locust's CSV and HTML.

Nothing here imports Locust except ``engine.py``, which only the Locust process loads.
"""
