from pdes.examples import EXAMPLES


def problem():
    return EXAMPLES["burgers"]()
