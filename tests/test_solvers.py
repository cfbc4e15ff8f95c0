import pytest
import torch

from pinn_natmom import solvers
from pinn_natmom.solvers.cholesky import cholesky_apply, factor_damped
from pinn_natmom.solvers.gram import lower_gram
from pinn_natmom.solvers.nystrom import orthonormal_test_matrix

DAMPED = [name for name in solvers.SOLVERS if name not in solvers.TRUNCATED]


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
    assert solvers.choose("auto", 1020, 257) == "svd"
    assert solvers.choose("auto", 1020, 1185) == "svd"
    assert solvers.choose("auto", 5120, 1185) == "svd"
    assert solvers.choose("auto", 3500, 10065) == "woodbury"
    assert solvers.choose("auto", 100000, 5000) == "dense"
    assert solvers.choose("auto", 10000, 10065) == "nystrom-pcg"
    assert solvers.choose("auto", 10000, 5000) == "dense"
    assert solvers.choose("pinv", 1000, 100) == "pinv"
    assert solvers.choose("nystrom-pcg", 1000, 100) == "nystrom-pcg"


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
        with pytest.raises(ValueError, match="shape"):
            solvers.direction(name, j, torch.randn(5, 2, 2), 1e-3)
        with pytest.raises(ValueError, match="damping"):
            solvers.direction(name, j, r, float("nan"))
        with pytest.raises(ValueError, match="NaN"):
            solvers.direction(name, bad, r, 1e-3)
        with pytest.raises(ValueError, match="NaN"):
            solvers.direction(name, j, torch.where(r > 0, float("inf"), r), 1e-3)
    with pytest.raises(ValueError, match="unknown solver"):
        solvers.direction("magic", j, r, 1e-3)
    with pytest.raises(ValueError, match="sketch_size"):
        solvers.direction("woodbury", j, r, 1e-3, sketch_size=2)
    with pytest.raises(ValueError, match="sketch size"):
        solvers.direction("nystrom", j, r, 1e-3, sketch_size=0)
    with pytest.raises(ValueError, match="CG steps"):
        solvers.direction("nystrom-pcg", j, r, 1e-3, cg_steps=-1)


def flat_jacobian(n, p, decades, seed=0):
    """``J = U diag(σ) Vᵀ`` with ``σ`` spread evenly over ``decades`` decades below 1."""
    generator = torch.Generator().manual_seed(seed)
    k = min(n, p)
    u, _ = torch.linalg.qr(torch.randn(n, k, generator=generator, dtype=torch.float64))
    v, _ = torch.linalg.qr(torch.randn(p, k, generator=generator, dtype=torch.float64))
    s = 10.0 ** torch.linspace(0, -decades, k, dtype=torch.float64)
    return u @ torch.diag(s) @ v.T, torch.randn(n, generator=generator, dtype=torch.float64)


@pytest.mark.parametrize(("name", "shape"), [("dense", (90, 40)), ("woodbury", (40, 90))])
@pytest.mark.parametrize(("decades", "damping"), [(12, 1e-30), (3, 1e-3)])
def test_refined_solve_takes_a_tenth_of_the_damping_the_factorisation_reached(name, shape, decades, damping):
    """Where the Gram matrix of ``σ`` over 12 decades cannot be factorised near ``λ = 0``, the plain solve is damped at
    the ``λ_f`` it reached and lies far from the direction at ``λ_f/10``; the refined one reaches it to the CG bound."""
    j, r = flat_jacobian(*shape, decades)
    plain, factorised = solvers.direction(name, j, r, damping)
    refined, lam = solvers.direction(name, j, r, damping, refine=True)
    assert factorised >= damping and lam == pytest.approx(factorised / 10, rel=1e-12)
    reference = dense_reference(j, r, lam)
    assert relative_error(refined, reference) < 5e-3
    if decades == 12:
        assert factorised > 1e-20 and relative_error(plain, reference) > 0.5
    else:
        apply, _ = solvers.factorize(name, j, damping, refine=True)
        both = apply(torch.stack([r, 2.0 * r], dim=1))
        torch.testing.assert_close(both, torch.stack([refined, 2.0 * refined], dim=1), rtol=1e-10, atol=1e-12)


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
    for name in ("nystrom", "nystrom-pcg"):  # finite, though dominated by rounding at λ ≈ 0
        d, used = solvers.direction(name, j, r, 0.0)
        assert bool(torch.isfinite(d).all()) and used > 0.0


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
        apply, _ = solvers.factorize(name, j, 1e-3 if name in DAMPED else 1e-10)
        both = apply(rhs)
        for column in range(3):
            torch.testing.assert_close(both[:, column], apply(rhs[:, column]), rtol=1e-10, atol=1e-10)
            reference = dense_reference(j.cpu(), rhs[:, column].cpu(), 1e-3 if name in DAMPED else 0.0)
            # the Nyström complement term rhs/λ carries the rounding ε‖rhs‖/λ
            torch.testing.assert_close(both[:, column].cpu(), reference, rtol=1e-8, atol=1e-8 if name == "nystrom" else 1e-10)


def decaying_jacobian(n=80, p=120, ratio=0.7, seed=0):
    """``J = U diag(ratio^i) Vᵀ`` (``N × P``, ``N < P``) with random orthonormal ``U``, ``V``."""
    generator = torch.Generator().manual_seed(seed)
    u, _ = torch.linalg.qr(torch.randn(n, n, generator=generator))
    v, _ = torch.linalg.qr(torch.randn(p, n, generator=generator))
    return u @ torch.diag(ratio ** torch.arange(n, dtype=torch.float64)) @ v.T, torch.randn(n, generator=generator)


def relative_error(d, reference):
    return float((d - reference).norm() / reference.norm())


@pytest.mark.parametrize("shape", [(60, 25), (25, 60)])
def test_nystrom_is_exact_once_the_sketch_covers_the_rank(shape, device):
    rank = 7
    j = (torch.randn(shape[0], rank) @ torch.randn(rank, shape[1])).to(device)
    r = torch.randn(shape[0], device=device)
    lam = 1e-2
    reference, _ = solvers.direction("woodbury", j, r, lam)
    for size in (rank, 12, shape[0], 10_000):
        d, used = solvers.direction("nystrom", j, r, lam, sketch_size=size)
        assert used == lam and d.device.type == device.type
        # exact up to the rounding of the shifted sketch: measured ≤ 4e-9 on a CPU, ≤ 3.5e-8 on an H100
        assert relative_error(d, reference) < 1e-7
    d, _ = solvers.direction("nystrom", j, r, lam, sketch_size=rank - 2)
    assert relative_error(d, reference) > 1e-3


def test_nystrom_error_falls_monotonically_as_the_sketch_grows():
    j, r = decaying_jacobian()
    lam = 1e-6
    reference, _ = solvers.direction("woodbury", j, r, lam)
    errors = [relative_error(solvers.direction("nystrom", j, r, lam, sketch_size=size)[0], reference)
              for size in (4, 8, 16, 32, 64, 80)]
    assert all(later < earlier for earlier, later in zip(errors, errors[1:], strict=False))
    assert errors[-1] < 1e-8


def test_larger_sketches_contain_smaller_ones():
    small, large = orthonormal_test_matrix(200, 10, 3, torch.empty(0)), orthonormal_test_matrix(200, 70, 3, torch.empty(0))
    torch.testing.assert_close(large.T @ large, torch.eye(70), rtol=0, atol=1e-13)
    projection = large[:, :10] @ large[:, :10].T
    torch.testing.assert_close(projection @ small, small, rtol=0, atol=1e-13)


def test_nystrom_pcg_converges_to_the_woodbury_direction(device):
    j, r = decaying_jacobian()
    j, r = j.to(device), r.to(device)
    lam = 1e-6
    reference, _ = solvers.direction("woodbury", j, r, lam)
    sketch_only, _ = solvers.direction("nystrom", j, r, lam, sketch_size=8)
    errors = [relative_error(solvers.direction("nystrom-pcg", j, r, lam, sketch_size=8, cg_steps=steps)[0], reference)
              for steps in (0, 1, 2, 4, 8, 16, 32, 64)]
    assert errors[0] == pytest.approx(relative_error(sketch_only, reference), rel=1e-10)
    assert all(later < earlier for earlier, later in zip(errors, errors[1:], strict=False))
    assert errors[-1] < 1e-9


def test_nystrom_pcg_solves_several_right_hand_sides_column_by_column():
    j, _ = decaying_jacobian(n=40, p=60, ratio=0.8)
    rhs = torch.randn(40, 3)
    rhs[:, 2] = 0.0  # a column that is solved exactly from the start
    apply, lam = solvers.factorize("nystrom-pcg", j, 1e-3, sketch_size=8, cg_steps=40)
    both = apply(rhs)
    for column in range(3):
        torch.testing.assert_close(both[:, column], apply(rhs[:, column]), rtol=1e-8, atol=1e-12)
        torch.testing.assert_close(both[:, column], dense_reference(j, rhs[:, column], lam), rtol=1e-8, atol=1e-12)


def test_auto_falls_back_to_nystrom_pcg_when_the_kernel_would_not_fit():
    kernel = 8 * 3500**2
    assert solvers.choose("auto", 3500, 10065, free_bytes=kernel) == "woodbury"
    assert solvers.choose("auto", 3500, 10065, free_bytes=kernel - 1) == "woodbury"  # the sketch would take more
    assert solvers.choose("auto", 7000, 10065, free_bytes=8 * 7000**2 - 1) == "nystrom-pcg"
    assert solvers.choose("auto", 12000, 10065, free_bytes=8 * 10065**2 // 2) == "nystrom-pcg"
    assert solvers.choose("auto", 100000, 5000, free_bytes=8 * 5000**2 // 2) == "dense"  # N ℓ > P²
    assert solvers.choose("woodbury", 3500, 10065, free_bytes=0) == "woodbury"
    assert solvers.memory_of("nystrom", 10000, 10065, 8, 1000) == 8 * (4 * 10000 * 1000 + 10065 * 1000 + 2 * 1000**2)


def test_solves_that_would_not_fit_are_refused_with_advice():
    jacobian, kernel = 8 * 3500 * 10065, 2 * 8 * 3500**2  # the kernel and its Cholesky factor
    solvers.check_fits("woodbury", 3500, 10065, jacobian + kernel)
    solvers.check_fits("woodbury", 3500, 10065, None)
    with pytest.raises(ValueError, match=r"solver 'woodbury' \(0.18 GiB\) would not fit .* use --solver nystrom-pcg"):
        solvers.check_fits("woodbury", 3500, 10065, jacobian + kernel - 1)
    with pytest.raises(ValueError, match="use fewer points or a smaller network"):
        solvers.check_fits("nystrom-pcg", 3500, 10065, jacobian)
