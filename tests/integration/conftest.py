# The broker and worker fixtures of test_worker.py, shared with the other real-process tests here.
from tests.integration.test_worker import broker, worker  # noqa: F401
