import pytest
import torch

from pinn_natmom import solvers
from pinn_natmom.solvers.cholesky import cholesky_apply, factor_damped
from pinn_natmom.solvers.gram import lower_gram


def dense_reference(j, r, lam):
    """(JᵀJ + λI)⁻¹ Jᵀ r = V diag(σ / (σ² + λ)) Uᵀ r from the SVD of J, in float64."""
    u, s, vh = torch.linalg.svd(j, full_matrices=False)
    return vh.T @ (s / (s * s + lam) * (u.T @ r))


@pytest.mark.parametrize("shape", [(40, 90), (90, 40), (60, 60)])
@pytest.mark.parametrize("lam", [1e-1, 1e-3])
def test_woodbury_equals_dense_equals_reference(shape, lam, device):
    j, r = torch.randn(*shape), torch.randn(shape[0])
    reference = dense_reference(j, r, lam)
    for name in ("dense", "woodbury"):
        d, used = solvers.direction(name, j.to(device), r.to(device), lam)
        assert used == lam and d.device.type == device.type
        assert float((d.cpu() - reference).norm() / reference.norm()) < 1e-10


def test_auto_picks_svd_while_cheap_then_the_smaller_space():
    assert solvers.choose("auto", 1020, 257) == "pinv"
    assert solvers.choose("auto", 1020, 1185) == "svd"
    assert solvers.choose("auto", 3500, 10065) == "woodbury"
    assert solvers.choose("auto", 100000, 5000) == "dense"
    assert solvers.choose("pinv", 1000, 100) == "pinv"


@pytest.mark.parametrize("shape", [(80, 30), (30, 80)])
def test_truncated_solvers_give_the_pseudo_inverse_solution(shape, device):
    j, r = torch.randn(*shape), torch.randn(shape[0])
    for name in ("svd", "pinv"):
        d, _ = solvers.direction(name, j.to(device), r.to(device), 1e-12)
        torch.testing.assert_close(d.cpu(), torch.linalg.pinv(j) @ r, rtol=1e-9, atol=1e-11)


def test_svd_drops_directions_below_the_cutoff():
    u, _ = torch.linalg.qr(torch.randn(20, 3))
    v, _ = torch.linalg.qr(torch.randn(6, 3))
    s = torch.tensor([1.0, 1e-3, 1e-9])
    j = u @ torch.diag(s) @ v.T
    r = u @ torch.ones(3)
    d, _ = solvers.direction("svd", j, r, 1e-6)
    torch.testing.assert_close(d, v[:, 0] / 1.0 + v[:, 1] / 1e-3, rtol=1e-9, atol=1e-9)


def test_malformed_input_is_refused():
    j, r = torch.randn(5, 3), torch.randn(5)
    with pytest.raises(ValueError, match="shape"):
        solvers.direction("dense", j, torch.randn(4), 1e-3)
    with pytest.raises(ValueError, match="damping"):
        solvers.direction("dense", j, r, -1.0)
    bad = j.clone()
    bad[1, 1] = float("nan")
    for name in solvers.SOLVERS:
        with pytest.raises(ValueError, match="NaN"):
            solvers.direction(name, bad, r, 1e-3)
        with pytest.raises(ValueError, match="NaN"):
            solvers.direction(name, j, torch.where(r > 0, float("inf"), r), 1e-3)
    with pytest.raises(ValueError, match="unknown solver"):
        solvers.direction("magic", j, r, 1e-3)


def test_singular_system_at_zero_damping_is_recovered_by_raising_damping():
    j = torch.randn(10, 3) @ torch.randn(3, 8)  # rank 3, JᵀJ is 8 × 8 singular
    r = torch.randn(10)
    d, used = solvers.direction("dense", j, r, 0.0)
    assert bool(torch.isfinite(d).all()) and used > 0.0
    normal_residual = (j.T @ (j @ d) + used * d) - j.T @ r
    assert float(normal_residual.norm() / (j.T @ r).norm()) < 1e-6
    d, used = solvers.direction("woodbury", j, r, 0.0)  # 10 × 10 kernel of rank 3
    assert bool(torch.isfinite(d).all()) and used > 0.0
    assert float(d @ (j.T @ r)) > 0.0  # still a descent direction


def test_lower_gram_matches_the_full_product_where_solvers_read_it(device):
    a = torch.randn(2100, 70, device=device)
    lower = lower_gram(a)
    torch.testing.assert_close(lower.tril(), (a @ a.T).tril(), rtol=1e-12, atol=1e-10)
    shifted = a @ a.T + torch.eye(2100, device=device)
    torch.testing.assert_close(torch.linalg.cholesky(lower + torch.eye(2100, device=device)), torch.linalg.cholesky(shifted))


def test_cholesky_raises_damping_for_indefinite_matrices_and_never_returns_nan():
    a = torch.diag(torch.tensor([1.0, -1e-14, 2.0]))
    factor, used = factor_damped(a, 0.0)
    x = cholesky_apply(factor, torch.ones(3))
    assert used > 1e-14 and bool(torch.isfinite(x).all())


@pytest.mark.parametrize("shape", [(40, 25), (25, 40)])
def test_one_factorisation_applies_to_several_right_hand_sides(shape, device):
    j, rhs = torch.randn(*shape, device=device), torch.randn(shape[0], 3, device=device)
    for name in solvers.SOLVERS:
        apply, _ = solvers.factorize(name, j, 1e-3 if name in ("dense", "woodbury") else 1e-10)
        both = apply(rhs)
        for column in range(3):
            torch.testing.assert_close(both[:, column], apply(rhs[:, column]), rtol=1e-10, atol=1e-10)
            reference = dense_reference(j.cpu(), rhs[:, column].cpu(), 1e-3 if name in ("dense", "woodbury") else 0.0)
            torch.testing.assert_close(both[:, column].cpu(), reference, rtol=1e-8, atol=1e-10)
