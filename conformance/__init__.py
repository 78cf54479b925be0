"""Conformance suite for the Kesk Business UserApi.

Public API: the spec locator and the command-line entry point. The suite talks to any
server over HTTP only; it never imports ``reference_server`` except to start it as the
embedded default target.
"""

from __future__ import annotations

from conformance._spec import SpecError, load_spec, spec_path

__all__ = ["SpecError", "load_spec", "spec_path"]
