"""The one error of this package: a migration that cannot be applied or is missing."""


class MigrationError(Exception):
    pass
