"""The suite's checks, one module per area; each module lists its requirement records in ``REQUIREMENTS``
(lifecycle machines in ``MachineSpec.requirements``). Importing them registers nothing: the catalogue
and its run order are built in :mod:`conformance.catalogue`."""
