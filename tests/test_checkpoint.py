import errno
import os

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
