"""A server's declared slots are shared by the processes of one host (a Celery worker's pool)."""

from __future__ import annotations

import multiprocessing
import os
import signal
import time
from pathlib import Path

from judges.backends.host_slots import HostSlots


def hold_slot(directory: str, slots: int, journal: str, seconds: float) -> None:
    with HostSlots("http://127.0.0.1:1/v1", slots, directory=Path(directory)).hold():
        started = time.monotonic()
        time.sleep(seconds)
        with open(journal, "a") as f:
            f.write(f"{os.getpid()} {started} {time.monotonic()}\n")


def most_at_once(journal: Path) -> int:
    intervals = [tuple(map(float, line.split()[1:])) for line in journal.read_text().splitlines()]
    return max(sum(start <= moment < end for start, end in intervals) for moment, _ in intervals)


def run_processes(tmp_path: Path, count: int, slots: int) -> Path:
    journal = tmp_path / "journal"
    context = multiprocessing.get_context("spawn")
    processes = [context.Process(target=hold_slot, args=(str(tmp_path), slots, str(journal), 1.0))
                 for _ in range(count)]
    for process in processes:
        process.start()
    for process in processes:
        process.join(timeout=30)
        assert process.exitcode == 0
    return journal


def test_four_processes_on_a_one_slot_server_take_turns(tmp_path):
    journal = run_processes(tmp_path, 4, slots=1)
    assert len(journal.read_text().splitlines()) == 4
    assert most_at_once(journal) == 1


def test_a_two_slot_server_gets_two_processes_at_once_and_never_three(tmp_path):
    journal = run_processes(tmp_path, 4, slots=2)
    assert most_at_once(journal) == 2


def test_a_slot_held_by_a_process_that_died_is_free_at_once(tmp_path):
    context = multiprocessing.get_context("spawn")
    holder = context.Process(target=hold_slot, args=(str(tmp_path), 1, str(tmp_path / "journal"), 600))
    holder.start()
    slots = HostSlots("http://127.0.0.1:1/v1", 1, directory=tmp_path)
    deadline = time.monotonic() + 30
    while not holder_has_slot(slots) and time.monotonic() < deadline:
        time.sleep(0.05)
    os.kill(holder.pid, signal.SIGKILL)  # a worker killed mid-request
    holder.join(timeout=10)
    started = time.monotonic()
    with slots.hold():
        assert time.monotonic() - started < 5


def holder_has_slot(slots: HostSlots) -> bool:
    import fcntl

    fd = os.open(slots.paths[0], os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return True
    finally:
        os.close(fd)
    return False
