"""Plausible path parameters for an operation, for checks that must reach the handler."""

from __future__ import annotations

SAMPLE_PATH_PARAMETERS: dict[str, object] = {
    "email_id": 1,
    "phone_id": 1,
    "id": 1,
    "fcm_token": "fcm-sample-token",
    "filename": "kesk-export-" + "A" * 43 + ".json",
}


def sample_path_parameters(names: tuple[str, ...], **overrides: object) -> dict[str, object]:
    return {name: overrides.get(name, SAMPLE_PATH_PARAMETERS.get(name, 1)) for name in names}
