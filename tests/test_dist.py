"""torch.distributed helpers and the losses that gather, on 2 CPU processes (gloo)."""

import gc
import os
import socket

import pytest
import torch
import torch.distributed as dist
import torch.multiprocessing as mp
from torch import nn

from lightly_min.loss import BarlowTwinsLoss, NTXentLoss, VICRegLoss
from lightly_min.utils import dist as lm_dist

WORLD_SIZE = 2


def test_single_process_defaults():
    assert not dist.is_initialized()
    assert lm_dist.rank() == 0 and lm_dist.world_size() == 1
    x = torch.randn(3, 2)
    (gathered,) = lm_dist.gather(x)
    assert gathered is x


def test_print_rank_zero_prints_in_a_single_process(capsys):
    lm_dist.print_rank_zero("hello", 1)
    assert capsys.readouterr().out == "hello 1\n"


def test_rank_zero_only_runs_on_rank_zero(monkeypatch):
    calls = []
    record = lm_dist.rank_zero_only(lambda value: calls.append(value) or value)
    assert record(1) == 1
    monkeypatch.setattr(lm_dist, "rank", lambda: 1)
    assert record(2) is None
    assert calls == [1]


def test_eye_rank_marks_each_samples_own_column(monkeypatch):
    assert torch.equal(lm_dist.eye_rank(2), torch.eye(2, dtype=torch.bool))
    monkeypatch.setattr(lm_dist, "rank", lambda: 1)
    monkeypatch.setattr(lm_dist, "world_size", lambda: 3)
    expected = torch.zeros(2, 6, dtype=torch.bool)
    expected[0, 2] = expected[1, 3] = True  # rank 1's samples are columns 2 and 3
    assert torch.equal(lm_dist.eye_rank(2, device="cpu"), expected)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def run_on_two_processes(body) -> None:
    """Runs ``body(rank)`` on WORLD_SIZE gloo processes; ``body`` is a module-level function."""
    mp.spawn(in_process_group, args=(free_port(), body), nprocs=WORLD_SIZE, join=True)


def in_process_group(rank: int, port: int, body) -> None:
    os.environ.update(MASTER_ADDR="127.0.0.1", MASTER_PORT=str(port))
    dist.init_process_group("gloo", rank=rank, world_size=WORLD_SIZE)
    try:
        body(rank)
        # The body's DDP wrappers hold the group and its threads: free them, and let every
        # process get here, before the group goes (else a process could abort at exit).
        gc.collect()
        dist.barrier()
    finally:
        dist.destroy_process_group()


def gather_worker(rank: int) -> None:
    assert lm_dist.rank() == rank and lm_dist.world_size() == WORLD_SIZE
    x = torch.full((2, 3), float(rank + 1), requires_grad=True)
    gathered = lm_dist.gather(x)
    assert [g[0, 0].item() for g in gathered] == [1.0, 2.0]
    # Process r weighs slice s by w[r][s]; process s's input gets sum_r w[r][s].
    weights = [[1.0, 10.0], [100.0, 1000.0]]
    sum(w * g.sum() for w, g in zip(weights[rank], gathered)).backward()
    expected = weights[0][rank] + weights[1][rank]
    assert torch.equal(x.grad, torch.full((2, 3), expected)), (rank, x.grad)


def ntxent_worker(rank: int) -> None:
    """Two processes with half the batch each, gathering, under DDP == one process, whole batch."""
    torch.manual_seed(0)  # the same model and data on both processes
    model = nn.Linear(5, 3)
    x0, x1 = torch.randn(8, 5), torch.randn(8, 5)

    single = NTXentLoss(temperature=0.3)(model(x0), model(x1))
    expected_grads = torch.autograd.grad(single, list(model.parameters()))

    ddp = nn.parallel.DistributedDataParallel(model)  # averages gradients over processes
    half = slice(4 * rank, 4 * rank + 4)
    loss = NTXentLoss(temperature=0.3, gather_distributed=True)(ddp(x0[half]), ddp(x1[half]))
    loss.backward()
    mean_loss = loss.detach().clone()
    dist.all_reduce(mean_loss)
    torch.testing.assert_close(mean_loss / WORLD_SIZE, single.detach())
    for param, expected in zip(model.parameters(), expected_grads):
        torch.testing.assert_close(param.grad, expected)

    # Without gathering, each process only contrasts its own half (no rank offset).
    local = NTXentLoss(temperature=0.3)(model(x0[half]), model(x1[half]))
    torch.manual_seed(0)
    plain = nn.Linear(5, 3)
    torch.testing.assert_close(local, NTXentLoss(temperature=0.3)(plain(x0[half]), plain(x1[half])))


@pytest.mark.skipif(not dist.is_available(), reason="needs torch.distributed")
def test_gather_returns_all_slices_and_sums_their_gradients():
    run_on_two_processes(gather_worker)


@pytest.mark.skipif(not dist.is_available(), reason="needs torch.distributed")
def test_gathered_ntxent_under_ddp_equals_single_process_on_the_whole_batch():
    run_on_two_processes(ntxent_worker)


def momentum_worker(rank: int) -> None:
    """BYOL's target network under DDP: each process updates its own copy from the online
    weights, which DDP keeps equal, so the copies stay equal and follow the EMA by hand."""
    import copy

    from lightly_min.models.utils import deactivate_requires_grad, update_momentum

    torch.manual_seed(0)  # the same initial weights on both processes
    online = nn.Linear(4, 2)
    target = copy.deepcopy(online)
    deactivate_requires_grad(target)
    ddp = nn.parallel.DistributedDataParallel(online)
    optimizer = torch.optim.SGD(ddp.parameters(), lr=0.5)
    expected = [p.detach().clone() for p in target.parameters()]
    torch.manual_seed(1 + rank)  # different data on each process
    for m in (0.9, 0.5, 0.99):
        update_momentum(ddp.module, target, m)
        expected = [m * e + (1 - m) * p.detach() for e, p in zip(expected, online.parameters())]
        loss = (ddp(torch.randn(3, 4)) - target(torch.randn(3, 4))).pow(2).mean()
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    for param, by_hand in zip(target.parameters(), expected):
        torch.testing.assert_close(param, by_hand)
        everyone = [torch.empty_like(param) for _ in range(WORLD_SIZE)]
        dist.all_gather(everyone, param.detach().contiguous())
        assert torch.equal(everyone[0], everyone[1])  # the same target on every process
    assert not any(p.requires_grad for p in target.parameters())


@pytest.mark.skipif(not dist.is_available(), reason="needs torch.distributed")
def test_momentum_targets_under_ddp_stay_equal_and_follow_the_ema():
    run_on_two_processes(momentum_worker)


def redundancy_worker(rank: int) -> None:
    """Barlow Twins and VICReg with gathering: 2 processes with different halves of the batch,
    under DDP, give the loss and the gradients of one process with the whole batch
    (lightly#1977: a gradient scaled by 1 / world_size went unnoticed)."""
    half = slice(4 * rank, 4 * rank + 4)
    for make, per_process_loss_is_global in ((BarlowTwinsLoss, True), (VICRegLoss, False)):
        torch.manual_seed(0)  # the same model and data on both processes
        model = nn.Linear(5, 6)
        x0, x1 = torch.randn(8, 5), torch.randn(8, 5)
        single = make()(model(x0), model(x1))
        expected_grads = torch.autograd.grad(single, list(model.parameters()))

        ddp = nn.parallel.DistributedDataParallel(model)  # averages gradients
        loss = make(gather_distributed=True)(ddp(x0[half]), ddp(x1[half]))
        loss.backward()
        mean_loss = loss.detach().clone()
        dist.all_reduce(mean_loss)
        torch.testing.assert_close(mean_loss / WORLD_SIZE, single.detach())
        if per_process_loss_is_global:  # C of the global batch on every process
            torch.testing.assert_close(loss.detach(), single.detach())
        for param, expected in zip(model.parameters(), expected_grads):
            torch.testing.assert_close(param.grad, expected)

        # Without gathering, each process's statistics come from its own half only.
        local = make()(model(x0[half]), model(x1[half]))
        others = [torch.empty_like(local) for _ in range(WORLD_SIZE)]
        dist.all_gather(others, local.detach())
        assert not torch.allclose(sum(others) / WORLD_SIZE, single.detach(), rtol=1e-3)

    # lightly's own check, both processes with the same batch: still the plain loss.
    torch.manual_seed(0)
    z_a, z_b = torch.randn(6, 4), torch.randn(6, 4)
    torch.testing.assert_close(
        BarlowTwinsLoss(gather_distributed=True)(z_a, z_b), BarlowTwinsLoss()(z_a, z_b)
    )


@pytest.mark.skipif(not dist.is_available(), reason="needs torch.distributed")
def test_gathered_barlow_twins_and_vicreg_under_ddp_equal_single_process_on_the_whole_batch():
    run_on_two_processes(redundancy_worker)


def moco_worker(rank: int) -> None:
    """MoCo with a queue and the distributed batch shuffle under DDP: every process enqueues
    the keys of all processes, so the queues stay identical and equal to one process that
    saw the whole batch, and so do the gradients, step after step."""
    import copy

    from lightly_min.models.utils import batch_shuffle, batch_unshuffle, update_momentum

    steps, global_batch, half = 4, 4, slice(2 * rank, 2 * rank + 2)
    torch.manual_seed(1)
    data = torch.randn(steps, 2, global_batch, 5)  # per step: the two views

    def train(batch, distributed, queue_seed):
        torch.manual_seed(0)  # the same encoder on every process
        query = nn.Linear(5, 3)
        key = copy.deepcopy(query).requires_grad_(False)
        torch.manual_seed(queue_seed)  # the queue's random start
        criterion = NTXentLoss(0.2, memory_bank_size=(10, 3), gather_distributed=distributed)
        model = nn.parallel.DistributedDataParallel(query) if distributed else query
        optimizer = torch.optim.SGD(query.parameters(), lr=0.5)
        grads, queues = [], []
        for x0, x1 in data[:, :, batch]:
            update_momentum(query, key, 0.9)
            shuffled, order = batch_shuffle(x1, distributed=distributed)
            k = batch_unshuffle(key(shuffled), order, distributed=distributed)
            loss = criterion(model(x0), k)
            optimizer.zero_grad()
            loss.backward()
            grads.append([p.grad.clone() for p in query.parameters()])
            queues.append(criterion.memory_bank.bank.clone())
            optimizer.step()
        return grads, queues, criterion.memory_bank.bank_ptr

    single = train(slice(None), distributed=False, queue_seed=100)
    # Rank 1's queue starts elsewhere: the first update takes rank 0's.
    ddp = train(half, distributed=True, queue_seed=100 + rank)
    for step, (expected, got) in enumerate(zip(single[0], ddp[0])):
        for e, g in zip(expected, got):
            torch.testing.assert_close(g, e, msg=f"step {step}")
    for expected, got in zip(single[1], ddp[1]):
        torch.testing.assert_close(got, expected)
        everyone = [torch.empty_like(got) for _ in range(WORLD_SIZE)]
        dist.all_gather(everyone, got)
        assert torch.equal(everyone[0], everyone[1])  # the same queue on every process
    # 4 + 4 keys; 2 of the next 4 fill the queue (the rest dropped) and it wraps; 4 more.
    assert int(single[2]) == int(ddp[2]) == 4

    # The distributed shuffle moves samples across processes and brings each one back.
    x = torch.arange(8.0).view(8, 1)[4 * rank : 4 * rank + 4]
    shuffled, order = batch_shuffle(x, distributed=True)
    everyone = [torch.empty_like(shuffled) for _ in range(WORLD_SIZE)]
    dist.all_gather(everyone, shuffled)
    assert sorted(torch.cat(everyone).flatten().tolist()) == list(range(8))
    assert any(not 4 * r <= v < 4 * r + 4 for r, part in enumerate(everyone) for v in part)
    assert torch.equal(batch_unshuffle(shuffled, order, distributed=True), x)


@pytest.mark.skipif(not dist.is_available(), reason="needs torch.distributed")
def test_moco_queue_and_gradients_under_ddp_equal_single_process_on_the_whole_batch():
    run_on_two_processes(moco_worker)


def dino_worker(rank: int) -> None:
    """DINO under DDP, each process with half the batch, two global and one local view: the
    center is updated from the teacher outputs of all processes, so it is the same on every
    process and equal to one process's with the whole batch; so are the mean loss, the
    gradients and the momentum teacher, step after step."""
    import copy

    from lightly_min.loss import DINOLoss
    from lightly_min.models.utils import update_momentum

    steps, half = 3, slice(2 * rank, 2 * rank + 2)
    torch.manual_seed(1)
    data = torch.randn(steps, 3, 4, 5)  # per step: 2 global views, 1 local; batch 4

    def train(batch, distributed):
        torch.manual_seed(0)  # the same student on every process
        student = nn.Linear(5, 6)
        teacher = copy.deepcopy(student).requires_grad_(False)
        criterion = DINOLoss(output_dim=6, warmup_teacher_temp=0.04, teacher_temp=0.07,
                             warmup_teacher_temp_epochs=3)  # fmt: skip
        model = nn.parallel.DistributedDataParallel(student) if distributed else student
        optimizer = torch.optim.SGD(student.parameters(), lr=0.5)
        record = []
        for epoch, views in enumerate(data[:, :, batch]):
            update_momentum(student, teacher, 0.9)
            loss = criterion([teacher(v) for v in views[:2]], [model(v) for v in views],
                             epoch=epoch)  # fmt: skip
            optimizer.zero_grad()
            loss.backward()
            grads = [p.grad.clone() for p in student.parameters()]
            record.append((loss.detach(), grads, criterion.center.clone(), teacher.weight.clone()))
            optimizer.step()
        return record

    single = train(slice(None), distributed=False)
    ddp = train(half, distributed=True)
    for (loss_1, grads_1, center_1, teacher_1), (loss, grads, center, teacher) in zip(single, ddp):
        mean_loss = loss.clone()
        dist.all_reduce(mean_loss)
        torch.testing.assert_close(mean_loss / WORLD_SIZE, loss_1)
        for g, e in zip(grads, grads_1):
            torch.testing.assert_close(g, e)
        torch.testing.assert_close(center, center_1)
        torch.testing.assert_close(teacher, teacher_1)
        for own in (center, teacher):
            everyone = [torch.empty_like(own) for _ in range(WORLD_SIZE)]
            dist.all_gather(everyone, own.contiguous())
            assert torch.equal(everyone[0], everyone[1])  # the same on every process
    assert not torch.equal(single[0][2], single[1][2])  # the center moved


@pytest.mark.skipif(not dist.is_available(), reason="needs torch.distributed")
def test_dino_center_and_teacher_under_ddp_equal_single_process_on_the_whole_batch():
    run_on_two_processes(dino_worker)
