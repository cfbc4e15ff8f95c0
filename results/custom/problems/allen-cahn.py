from pdes.examples import EXAMPLES


def problem():
    return EXAMPLES["allen-cahn"]()
