"""Run in a spawned process: nothing here imports Django before ``django.setup()``."""

import os


def publish_as_a_worker_process(barrier, url: str) -> None:
    # One pool process of a worker: its own pid, so its own key, publishing when its task ends.
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tests.settings")
    import django

    django.setup()
    from arena import judge_endpoints
    from judges.backends.concurrency import AdaptiveLimit, limit_for

    limit_for(url, "judge-model", AdaptiveLimit)
    barrier.wait(timeout=60)
    judge_endpoints.publish(force=True)
