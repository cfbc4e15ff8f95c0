from pdes.examples import EXAMPLES


def problem():
    return EXAMPLES["nonlinear-poisson"]()
