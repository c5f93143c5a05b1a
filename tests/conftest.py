"""pytest options: ``--gpu`` runs the examples on CUDA instead of hiding every GPU.

``nox -s examples -- --gpu`` on a machine with one or more GPUs runs the nine example scripts
on CUDA: the single-device ones on GPU 0, the distributed ones with one process per visible GPU.
"""

import pytest


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--gpu",
        action="store_true",
        help="run the examples on CUDA (all visible GPUs for the distributed ones); "
        "by default the example tests hide every GPU and run on the CPU",
    )


@pytest.fixture(scope="session")
def gpus(request: pytest.FixtureRequest) -> int:
    """The number of GPUs the example runs may use: 0 unless --gpu is given."""
    if not request.config.getoption("--gpu"):
        return 0
    import torch

    if not torch.cuda.is_available():
        pytest.fail("--gpu needs a CUDA GPU, and torch sees none (torch.cuda.is_available()).")
    return torch.cuda.device_count()
