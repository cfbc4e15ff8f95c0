import pytest
import torch


@pytest.fixture(autouse=True)
def float64_and_seed():
    """Every test runs in float64 with a fixed global seed; fast paths are compared against references there."""
    previous = torch.get_default_dtype()
    torch.set_default_dtype(torch.float64)
    torch.manual_seed(0)
    yield
    torch.set_default_dtype(previous)
