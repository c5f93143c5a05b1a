import errno
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch

from lightly_min.errors import InputError
from lightly_min.harness import output as checkpoint_module
from lightly_min.harness.output import check_output_dir, save_checkpoint


def test_save_checkpoint_writes_what_torch_load_reads(tmp_path):
    path = tmp_path / "checkpoint.pt"
    save_checkpoint({"epoch": 3, "weights": torch.arange(4.0)}, path)
    state = torch.load(path, weights_only=True)
    assert state["epoch"] == 3 and torch.equal(state["weights"], torch.arange(4.0))
    assert [p.name for p in tmp_path.iterdir()] == ["checkpoint.pt"]  # no temporary left


def test_a_save_interrupted_while_writing_leaves_the_previous_checkpoint(tmp_path, monkeypatch):
    path = tmp_path / "checkpoint.pt"
    save_checkpoint({"epoch": 1}, path)

    def dies_halfway(state, file):  # writes some bytes, then the process "dies"
        file.write(b"half a checkpoint")
        raise KeyboardInterrupt

    monkeypatch.setattr(checkpoint_module.torch, "save", dies_halfway)
    with pytest.raises(KeyboardInterrupt):
        save_checkpoint({"epoch": 2}, path)
    monkeypatch.undo()
    assert torch.load(path, weights_only=True) == {"epoch": 1}
    assert [p.name for p in tmp_path.iterdir()] == ["checkpoint.pt"]


def test_check_output_dir_creates_a_new_folder(tmp_path):
    folder = tmp_path / "a" / "b"
    check_output_dir(folder / "w.pt", folder / "checkpoints" / "last.ckpt", resume=False)
    assert folder.is_dir() and [p.name for p in folder.iterdir()] == [".lock"]


def test_check_output_dir_refuses_to_overwrite_or_to_guess(tmp_path):
    weights, checkpoint = tmp_path / "w.pt", tmp_path / "c.pt"
    with pytest.raises(InputError, match="--resume found no checkpoint"):
        check_output_dir(weights, checkpoint, resume=True)
    checkpoint.write_bytes(b"")
    with pytest.raises(InputError, match="holds an interrupted run .* Add --resume"):
        check_output_dir(weights, checkpoint, resume=False)
    check_output_dir(weights, checkpoint, resume=True)  # fine: there is a run to continue
    weights.write_bytes(b"")
    for resume in (False, True):
        with pytest.raises(InputError, match="already holds a finished run"):
            check_output_dir(weights, checkpoint, resume=resume)


def test_check_output_dir_that_cannot_be_written(tmp_path):
    (tmp_path / "file").write_text("")
    with pytest.raises(InputError, match="Cannot write to --output-dir"):
        check_output_dir(tmp_path / "file" / "w.pt", tmp_path / "file" / "c.pt", resume=False)


def test_a_second_run_into_the_same_folder_is_refused_while_the_first_holds_it(tmp_path):
    weights, checkpoint = tmp_path / "w.pt", tmp_path / "checkpoint.pt"
    first = check_output_dir(weights, checkpoint, resume=False)
    with pytest.raises(InputError, match=f"Another run .process {os.getpid()}. is writing to"):
        check_output_dir(weights, checkpoint, resume=False)
    first.file.close()  # the first run ends: the folder is free again
    check_output_dir(weights, checkpoint, resume=False)


def test_a_full_disk_gives_one_line_and_keeps_the_previous_file(tmp_path, monkeypatch):
    path = tmp_path / "checkpoint.pt"
    save_checkpoint({"epoch": 1}, path)

    def disk_full(state, file):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(checkpoint_module.torch, "save", disk_full)
    with pytest.raises(InputError, match="No space left on device.*previous file there is whole"):
        save_checkpoint({"epoch": 2}, path)
    monkeypatch.undo()
    assert torch.load(path, weights_only=True) == {"epoch": 1}
    assert [p.name for p in tmp_path.iterdir()] == ["checkpoint.pt"]


def test_files_get_the_permissions_of_an_ordinary_file(tmp_path):
    save_checkpoint({"epoch": 1}, tmp_path / "checkpoint.pt")
    mask = os.umask(0)
    os.umask(mask)
    assert (tmp_path / "checkpoint.pt").stat().st_mode & 0o777 == 0o666 & ~mask


# Takes the lock of sys.argv[1] in this process, forks a child that keeps it (as a DataLoader
# worker does) for sys.argv[2] seconds, prints "locked", then this process lives on for
# sys.argv[3] seconds and ends.
HOLD_LOCK = """
import os, sys, time
from lightly_min.harness.output import OutputLock
lock = OutputLock(sys.argv[1])
if os.fork() == 0:
    time.sleep(float(sys.argv[2]))
    os._exit(0)
print("locked", flush=True)
time.sleep(float(sys.argv[3]))
"""


def hold_lock(folder, child_seconds: float, parent_seconds: float):
    environment = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[1])}
    arguments = [str(folder), str(child_seconds), str(parent_seconds)]
    process = subprocess.Popen(
        [sys.executable, "-c", HOLD_LOCK, *arguments], stdout=subprocess.PIPE, text=True,
        env=environment,
    )  # fmt: skip
    assert process.stdout.readline().strip() == "locked"
    return process


def test_a_second_run_into_a_folder_that_a_live_run_holds_stops_at_once(tmp_path):
    holder = hold_lock(tmp_path, child_seconds=0, parent_seconds=30)  # no orphan left
    try:
        with pytest.raises(InputError, match=f"Another run \\(process {holder.pid}\\)"):
            checkpoint_module.OutputLock(tmp_path)
    finally:
        holder.kill()
        holder.wait()


def test_the_lock_of_an_ended_run_that_its_workers_still_hold_is_waited_for(tmp_path):
    """The run ended (killed, say) and its forked worker still holds the lock for a while:
    the next run waits for the worker instead of calling the ended run alive."""
    holder = hold_lock(tmp_path, child_seconds=5, parent_seconds=0)
    started = time.monotonic()  # about when the worker started its 5 seconds
    holder.wait()
    checkpoint_module.OutputLock(tmp_path)  # would raise without the wait
    assert 4 < time.monotonic() - started < checkpoint_module.OutputLock.ORPHAN_WAIT
