"""Errors a user or operator sees. Each names what is wrong and where (unit, period, field, file)."""


class CchcError(Exception):
    """Base class of every error the pipeline raises on purpose."""


class ConfigError(CchcError):
    """An authority folder (authority.yaml, units.csv, history.csv, monthly.csv) is wrong."""


class PortalError(CchcError):
    """The portal answered something the protocol does not allow, or could not be reached."""


class PeriodNotClosed(CchcError):
    """The portal still reports the period as open: figures may change."""


class ExtractError(CchcError):
    """Extracted data cannot be turned into the tidy table (e.g. an Excel export is wrong)."""


class WarehouseError(CchcError):
    """The warehouse cannot be reached or migrated, or refused a load or a computation.

    Whatever raised it, the warehouse is left as it was before the call: every write runs in one
    transaction.
    """
