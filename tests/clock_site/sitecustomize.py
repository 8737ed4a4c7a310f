"""A child process of the test suite keeps the test's clock (tests/clock.py).

Python imports ``sitecustomize`` at start-up from ``PYTHONPATH``; the suite puts this
folder there, with the offset of the test's clock from the real one, only for the servers
and commands it starts. Forked workers (gunicorn) inherit the travel.
"""

import os

_offset = os.environ.get("BACKOFFICE_TEST_CLOCK_OFFSET")
if _offset:
    import time

    import time_machine

    time_machine.travel(time.time() + float(_offset), tick=True).start()
