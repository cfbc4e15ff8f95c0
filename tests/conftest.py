import pytest
import torch

CUDA = torch.cuda.is_available()


@pytest.fixture(autouse=True)
def float64_and_seed():
    """Every test runs in float64 with a fixed global seed; fast paths are compared against references there."""
    previous = torch.get_default_dtype()
    torch.set_default_dtype(torch.float64)
    torch.manual_seed(0)
    yield
    torch.set_default_dtype(previous)


@pytest.fixture(params=["cpu", pytest.param("cuda", marks=pytest.mark.skipif(not CUDA, reason="no CUDA device"))])
def device(request) -> torch.device:
    """The devices a fast path must agree with its reference on: the CPU, and CUDA where a device is present."""
    return torch.device(request.param)
