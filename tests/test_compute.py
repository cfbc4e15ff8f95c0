import pytest
import torch

import pdes
from pinn_natmom.compute import EagerCompute, GraphedCompute
from pinn_natmom.exact_error import ExactError
from pinn_natmom.network import MLP
from pinn_natmom.train import sample_points

pytestmark = pytest.mark.skipif(not torch.cuda.is_available(), reason="CUDA graphs need a CUDA device")


def test_graph_replays_equal_eager_evaluation_across_new_parameters_and_points():
    device = torch.device("cuda")
    problem = pdes.poisson(hard_bc=False, dim=3)
    mlp = MLP.of(3, (12, 9))
    generator = torch.Generator().manual_seed(0)
    eager, graphed = EagerCompute(mlp, problem), GraphedCompute(mlp, problem)
    theta = mlp.init(generator, device=device)
    for _ in range(3):
        points = sample_points(problem, {"interior": 50, "boundary": 20}, generator, torch.float64, device)
        for _ in range(2):
            theta = theta + 0.05 * torch.randn(mlp.num_params, generator=generator).to(device)
            want, got = eager.linearise(theta, points), graphed.linearise(theta, points)
            torch.testing.assert_close(got.residual, want.residual, rtol=1e-12, atol=1e-13)
            torch.testing.assert_close(got.jacobian, want.jacobian, rtol=1e-12, atol=1e-13)
            thetas = theta + 0.01 * torch.randn(6, mlp.num_params, generator=generator).to(device)
            torch.testing.assert_close(graphed.losses(thetas, points), eager.losses(thetas, points), rtol=1e-12, atol=0)
    evaluator = ExactError.for_problem(problem, 300, 1, torch.float64, device)
    for scale in (0.0, 0.1):
        moved = theta + scale
        torch.testing.assert_close(graphed.abs_error(evaluator, moved), eager.abs_error(evaluator, moved), rtol=1e-13, atol=0)
    bigger = sample_points(problem, {"interior": 70, "boundary": 20}, generator, torch.float64, device)
    torch.testing.assert_close(graphed.linearise(theta, bigger).jacobian, eager.linearise(theta, bigger).jacobian)
