"""The error of the command-line layer: a setting, file or argument that cannot be used, reported in one line."""


class ConfigError(ValueError):
    """A setting that cannot be used, reported in one line."""
