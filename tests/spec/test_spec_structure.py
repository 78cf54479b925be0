"""Structural checks of spec/openapi.yaml: the decisions of the contract, asserted one by one.

These read the YAML directly and import nothing of the project, so they guard the
contract itself: every operation, its statuses and headers, the models and their
readOnly/writeOnly fields, the examples, the assumption markers, rules and links.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import openapi_schema_validator as osv
import pytest
import yaml
from openapi_spec_validator import validate
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT4

ROOT = Path(__file__).resolve().parents[2]
SPEC_PATH = ROOT / "spec" / "openapi.yaml"
TEST_SUPPORT_PATH = ROOT / "spec" / "test-support.yaml"
UPSTREAM_PATH = ROOT / "spec" / "upstream" / "UserApi.md"

JSON = "application/json; charset=utf-8"
METHODS = ("get", "put", "post", "delete", "patch", "head", "options", "trace")
SPEC_URI = "urn:kesk:openapi"


def load(path: Path) -> dict[str, Any]:
    with path.open(encoding="utf-8") as fh:
        return yaml.safe_load(fh)


SPEC = load(SPEC_PATH)
SCHEMAS: dict[str, Any] = SPEC["components"]["schemas"]


def operations() -> Iterator[tuple[str, str, str, dict[str, Any]]]:
    for path, item in SPEC["paths"].items():
        for method in METHODS:
            if method in item:
                yield item[method]["operationId"], method, path, item[method]


OPS = {op_id: (method, path, op) for op_id, method, path, op in operations()}


def resolve(node: dict[str, Any]) -> dict[str, Any]:
    """Follow a local $ref (one or more hops) to the object it names."""
    while "$ref" in node:
        target: Any = SPEC
        for part in node["$ref"].removeprefix("#/").split("/"):
            target = target[part]
        node = target
    return node


def upstream_operations() -> dict[str, tuple[str, str]]:
    """operationId -> (METHOD, path) from the method table of the upstream markdown."""
    found = {}
    for line in UPSTREAM_PATH.read_text(encoding="utf-8").splitlines():
        m = re.match(r"^\| (\w+) \| (GET|POST|PUT|DELETE|PATCH) (\S+) \|", line)
        if m:
            found[m.group(1)] = (m.group(2), m.group(3))
    return found


# ---------------------------------------------------------------------------------
# The document as a whole


@pytest.mark.parametrize("path", [SPEC_PATH, TEST_SUPPORT_PATH], ids=lambda p: p.name)
def test_documents_are_valid_openapi_3_0(path: Path) -> None:
    doc = load(path)
    assert doc["openapi"] == "3.0.3"
    validate(doc)  # raises on any violation of the OpenAPI 3.0 schema


def test_server_and_security_scheme() -> None:
    assert [s["url"] for s in SPEC["servers"]] == ["https://business.apis.kesk.app/v1"]
    scheme = SPEC["components"]["securitySchemes"]["bearerAuth"]
    assert (scheme["type"], scheme["scheme"]) == ("http", "bearer")


def test_test_support_document_says_it_is_optional() -> None:
    doc = load(TEST_SUPPORT_PATH)
    description = doc["info"]["description"]
    assert "Optional for staging servers" in description
    assert "Always on in the reference server's test mode" in description
    ops = {op["operationId"]: (m, p) for p, item in doc["paths"].items() for m, op in item.items()}
    assert ops == {
        "createTestUser": ("post", "/_test/users"),
        "readOutbox": ("get", "/_test/outbox"),
        "readClock": ("get", "/_test/clock"),
        "advanceClock": ("post", "/_test/clock/advance"),
        "loadFixture": ("post", "/_test/fixtures"),
        "resetServer": ("post", "/_test/reset"),
        "readFaults": ("get", "/_test/faults"),
        "switchFaults": ("put", "/_test/faults"),
        "readVariants": ("get", "/_test/variants"),
        "switchVariants": ("put", "/_test/variants"),
    }


# ---------------------------------------------------------------------------------
# Operations


def test_all_upstream_operations_are_present_with_method_and_path() -> None:
    upstream = upstream_operations()
    assert len(upstream) == 30
    ours = {op_id: (method.upper(), path) for op_id, (method, path, _) in OPS.items()}
    assert ours == upstream


@pytest.mark.parametrize("op_id", sorted(OPS))
def test_operation_has_bearer_security_one_tag_and_json(op_id: str) -> None:
    _, _, op = OPS[op_id]
    assert op["security"] == [{"bearerAuth": []}]
    assert op["tags"] == ["User"]
    body = op.get("requestBody")
    if body is not None:
        assert body["required"] is True
        assert list(resolve(body)["content"]) == [JSON]
    for status, response in op["responses"].items():
        content = resolve(response).get("content")
        assert content is not None and list(content) == [JSON], (op_id, status)


@pytest.mark.parametrize("op_id", sorted(OPS))
def test_operation_declares_401_and_429_with_their_headers(op_id: str) -> None:
    responses = OPS[op_id][2]["responses"]
    unauthorized = resolve(responses["401"])
    assert "WWW-Authenticate" in unauthorized["headers"]
    assert resolve(unauthorized["headers"]["WWW-Authenticate"])["required"] is True
    too_many = resolve(responses["429"])
    retry_after = resolve(too_many["headers"]["Retry-After"])
    assert retry_after["schema"]["type"] == "integer"
    assert "500" not in responses


# The statuses each operation declares, as decided in the contract brief. Every
# operation also declares 401 and 429; operations with a body 400, 415 and 422;
# operations with an integer id 400 and 404.
EXPECTED_STATUSES = {
    "addFavouriteProduct": {"201", "400", "409", "415", "422"},
    "listFavouriteProducts": {"200", "400", "422"},
    "removeFavouriteProduct": {"200", "400", "404"},
    "addUserEmail": {"201", "400", "409", "415", "422"},
    "listUserEmails": {"200", "400", "422"},
    "getUserEmail": {"200", "400", "404"},
    "verifyUserEmail": {"200", "400", "404", "409", "415", "422"},
    "setPrimaryUserEmail": {"200", "400", "404", "409"},
    "removeUserEmail": {"200", "400", "404", "409"},
    "addUserPhone": {"201", "400", "409", "415", "422"},
    "listUserPhones": {"200", "400", "422"},
    "getUserPhone": {"200", "400", "404"},
    "verifyUserPhone": {"200", "400", "404", "409", "415", "422"},
    "setPrimaryUserPhone": {"200", "400", "404", "409"},
    "removeUserPhone": {"200", "400", "404", "409"},
    "registerFcmToken": {"200", "400", "415", "422"},
    "unregisterFcmToken": {"200", "404"},
    "getMyProfile": {"200"},
    "getProfileValidation": {"200"},
    "requestAccountDeletion": {"202", "400", "403", "409", "415", "422"},
    "confirmAccountDeletion": {"200", "400", "409", "415", "422"},
    "cancelAccountDeletion": {"200", "409"},
    "requestDataExport": {"202", "400", "403", "415", "422"},
    "confirmDataExport": {"202", "400", "409", "415", "422"},
    "downloadExport": {"200", "404", "410"},
    "getGdprStatus": {"200"},
    "deleteAccount": {"200", "400", "403", "415", "422"},
    "appCreateVerificationSession": {"200"},
    "appGetVerificationStatus": {"200"},
    "appSubmitNfcVerification": {"200", "400", "415", "422"},
}


def test_expected_status_table_covers_every_operation() -> None:
    assert set(EXPECTED_STATUSES) == set(OPS)


@pytest.mark.parametrize("op_id", sorted(EXPECTED_STATUSES))
def test_operation_declares_exactly_its_statuses(op_id: str) -> None:
    declared = set(OPS[op_id][2]["responses"])
    assert declared == EXPECTED_STATUSES[op_id] | {"401", "429"}


@pytest.mark.parametrize(
    ("op_id", "status", "codes"),
    [
        ("verifyUserEmail", "400", {"invalid_code", "code_expired"}),
        ("verifyUserEmail", "429", {"too_many_attempts"}),
        ("verifyUserEmail", "409", {"already_verified"}),
        ("setPrimaryUserEmail", "409", {"not_verified"}),
        ("removeUserEmail", "409", {"primary_removal"}),
        ("addUserEmail", "409", {"already_exists"}),
        ("addFavouriteProduct", "409", {"already_exists"}),
        ("confirmAccountDeletion", "409", {"no_pending_request"}),
        ("confirmDataExport", "429", {"too_many_attempts"}),
        ("requestAccountDeletion", "403", {"verification_required"}),
        ("requestAccountDeletion", "409", {"conflict"}),
        ("deleteAccount", "403", {"invalid_password"}),
        ("downloadExport", "410", {"gone"}),
        (
            "appSubmitNfcVerification",
            "422",
            {"mrz_invalid", "document_expired", "data_group_mismatch", "chip_authentication_failed"},
        ),
    ],
)
def test_error_examples_show_the_documented_codes(op_id: str, status: str, codes: set[str]) -> None:
    media = resolve(OPS[op_id][2]["responses"][status])["content"][JSON]
    shown = {ex["value"]["code"] for ex in media.get("examples", {}).values()}
    if "example" in media:
        shown.add(media["example"]["code"])
    assert codes <= shown


def test_created_resources_answer_with_location() -> None:
    for op_id, prefix in (("addUserEmail", "/v1/user/emails/"), ("addUserPhone", "/v1/user/phones/")):
        header = resolve(OPS[op_id][2]["responses"]["201"]["headers"]["Location"])
        assert header["required"] is True
        assert header["schema"]["example"].startswith(prefix)
        assert re.match(header["schema"]["pattern"], header["schema"]["example"])


def test_download_is_a_string_with_content_disposition() -> None:
    response = OPS["downloadExport"][2]["responses"]["200"]
    assert response["content"][JSON]["schema"]["type"] == "string"
    header = resolve(response["headers"]["Content-Disposition"])
    assert re.match(header["schema"]["pattern"], header["schema"]["example"])
    assert response["x-kesk-document-schema"] == {"$ref": "#/components/schemas/ExportDocument"}


def test_free_form_bodies_stay_bare_objects() -> None:
    # The seed types these bodies as `Object`; properties or additionalProperties would
    # make the generators render a model or a Map instead.
    for op_id in ("requestAccountDeletion", "requestDataExport"):
        schema = OPS[op_id][2]["requestBody"]["content"][JSON]["schema"]
        assert schema["type"] == "object"
        assert "properties" not in schema and "additionalProperties" not in schema


def test_pagination_parameters() -> None:
    for op_id in ("listFavouriteProducts", "listUserEmails", "listUserPhones"):
        params = {p["name"]: p for p in map(resolve, OPS[op_id][2]["parameters"])}
        assert set(params) == {"page", "per_page"}
        page, per_page = resolve(params["page"]["schema"]), resolve(params["per_page"]["schema"])
        assert not params["page"]["required"] and not params["per_page"]["required"]
        assert (page["type"], page["minimum"], page["x-kesk-default"]) == ("integer", 1, 1)
        assert (per_page["minimum"], per_page["maximum"], per_page["x-kesk-default"]) == (1, 100, 20)


def test_id_parameters_are_positive_int64() -> None:
    checked = 0
    for op_id, (_, _, op) in OPS.items():
        for param in map(resolve, op.get("parameters", [])):
            if param["in"] == "path" and param["name"].endswith("id"):
                schema = resolve(param["schema"])
                assert (schema["type"], schema["format"], schema["minimum"]) == ("integer", "int64", 1), op_id
                checked += 1
    assert checked == 9  # 4 email operations, 4 phone operations, removeFavouriteProduct


# ---------------------------------------------------------------------------------
# Models

SEED_MODELS = {
    "AddFavouriteProductInput",
    "MessageResponse",
    "PaginatedResponse_Favourite",
    "CreateUserEmailRequest",
    "UserEmailResponse",
    "PaginatedResponse_UserEmailResponse",
    "VerificationTokenRequest",
    "CreateUserPhoneNumberRequest",
    "UserPhoneNumberResponse",
    "PaginatedResponse_UserPhoneNumberResponse",
    "RegisterFcmTokenRequest",
    "GenericSuccess",
    "MyProfileResponse",
    "ProfileValidationResponse",
    "AccountDeletionResponse",
    "ConfirmAccountDeletionPayload",
    "DataExportResponse",
    "ConfirmDataExportPayload",
    "DeleteAccountRequest",
    "DeleteAccountResult",
    "GdprStatusResponse",
    "VerificationSession",
    "VerificationStatusResponse",
    "NfcIdentityVerificationRequest",
    "NfcIdentityVerificationResponse",
}
BRIEF_MODELS = SEED_MODELS | {"ErrorResponse", "Favourite", "ExportDocument"}


def test_every_model_of_the_brief_exists() -> None:
    assert set(SCHEMAS) >= BRIEF_MODELS


# Fields the server owns (readOnly) and fields the client sends (not readOnly), per model.
READ_ONLY = {
    "Favourite": ({"id", "created_at"}, {"product_id"}),
    "UserEmailResponse": ({"id", "is_verified", "is_primary", "verified_at", "created_at"}, {"email"}),
    "UserPhoneNumberResponse": (
        {"id", "phone_number", "is_verified", "is_primary", "verified_at", "created_at"},
        {"country_code"},
    ),
    "MyProfileResponse": (set(SCHEMAS["MyProfileResponse"]["properties"]), set()),
    "AccountDeletionResponse": (set(SCHEMAS["AccountDeletionResponse"]["properties"]), set()),
    "DataExportResponse": (set(SCHEMAS["DataExportResponse"]["properties"]), set()),
    "DeleteAccountResult": ({"deleted", "deleted_at", "message"}, set()),
    "VerificationSession": (set(SCHEMAS["VerificationSession"]["properties"]), set()),
    "NfcIdentityVerificationResponse": (
        {"verification_id", "status", "document_type", "issuing_country", "expiry_date", "verified_at"},
        set(),
    ),
}


@pytest.mark.parametrize("name", sorted(READ_ONLY))
def test_server_owned_fields_are_read_only(name: str) -> None:
    owned, client = READ_ONLY[name]
    props = SCHEMAS[name]["properties"]
    assert owned, name
    for field in owned:
        assert props[field].get("readOnly") is True, f"{name}.{field} must be readOnly"
    for field in client:
        assert not props[field].get("readOnly"), f"{name}.{field} must not be readOnly"


def test_password_is_write_only_and_no_request_model_has_read_only_fields() -> None:
    password = SCHEMAS["DeleteAccountRequest"]["properties"]["password"]
    assert (password["writeOnly"], password["format"]) == (True, "password")
    for name in request_schemas():
        for field, prop in SCHEMAS[name].get("properties", {}).items():
            assert not resolve(prop).get("readOnly"), f"{name}.{field} is in a request body"


def test_required_fields_of_key_models() -> None:
    def required(name: str) -> set[str]:
        return set(SCHEMAS[name]["required"])

    assert required("UserEmailResponse") == {"id", "email", "is_verified", "is_primary", "verified_at", "created_at"}
    assert required("GdprStatusResponse") == {"pending_deletion", "recent_exports"}
    nfc_request = {"mrz", "data_groups", "security_object", "chip_authentication"}
    assert required("NfcIdentityVerificationRequest") == nfc_request
    assert set(SCHEMAS["NfcDataGroups"]["required"]) == {"DG1", "DG2"}
    for name in (
        "PaginatedResponse_Favourite",
        "PaginatedResponse_UserEmailResponse",
        "PaginatedResponse_UserPhoneNumberResponse",
    ):
        assert required(name) == {"items", "page", "per_page", "total", "total_pages"}


def test_error_codes_are_the_briefs() -> None:
    codes = SCHEMAS["ErrorResponse"]["properties"]["code"]["enum"]
    assert len(codes) == len(set(codes)) == 23
    assert {
        "malformed_request",
        "validation_failed",
        "invalid_code",
        "code_expired",
        "unauthorized",
        "forbidden",
        "verification_required",
        "invalid_password",
        "not_found",
        "conflict",
        "already_exists",
        "already_verified",
        "not_verified",
        "primary_removal",
        "no_pending_request",
        "gone",
        "unsupported_media_type",
        "too_many_attempts",
        "rate_limited",
        "document_expired",
        "mrz_invalid",
        "data_group_mismatch",
        "chip_authentication_failed",
    } == set(codes)


# ---------------------------------------------------------------------------------
# Examples


def refs_in(node: Any) -> Iterator[str]:
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "$ref" and isinstance(value, str):
                yield value
            else:
                yield from refs_in(value)
    elif isinstance(node, list):
        for value in node:
            yield from refs_in(value)


def reachable_schemas(start: Any) -> set[str]:
    seen: set[str] = set()
    todo = list(refs_in(start))
    while todo:
        ref = todo.pop()
        target = resolve({"$ref": ref})
        if ref.startswith("#/components/schemas/"):
            name = ref.rsplit("/", 1)[1]
            if name in seen:
                continue
            seen.add(name)
        todo.extend(refs_in(target))
    return seen


def request_schemas() -> set[str]:
    return reachable_schemas([op.get("requestBody", {}) for _, _, op in OPS.values()])


def validator(name: str, cls: type) -> Any:
    registry = Registry().with_resource(SPEC_URI, Resource.from_contents(SPEC, default_specification=DRAFT4))
    return cls(
        {"$ref": f"{SPEC_URI}#/components/schemas/{name}"}, registry=registry, format_checker=osv.oas30_format_checker
    )


def example_errors(name: str, instance: Any) -> list[str]:
    # Request models are checked as written by a client, everything else as read from a server.
    cls = osv.OAS30WriteValidator if name in request_schemas() else osv.OAS30ReadValidator
    return [f"{'/'.join(map(str, e.absolute_path))}: {e.message}" for e in validator(name, cls).iter_errors(instance)]


@pytest.mark.parametrize("name", sorted(SCHEMAS))
def test_component_schema_has_a_valid_example(name: str) -> None:
    assert "example" in SCHEMAS[name], f"{name} has no example"
    assert example_errors(name, SCHEMAS[name]["example"]) == []


def test_example_check_rejects_broken_examples() -> None:
    # The example check above must be able to fail: each of these breaks one decision.
    email = dict(SCHEMAS["UserEmailResponse"]["example"])
    del email["is_primary"]
    assert example_errors("UserEmailResponse", email)
    assert example_errors("UserEmailResponse", {**SCHEMAS["UserEmailResponse"]["example"], "email": "nope"})
    assert example_errors("GdprStatusResponse", {"pending_deletion": 5, "recent_exports": []})
    assert example_errors("DeleteAccountResult", {**SCHEMAS["DeleteAccountResult"]["example"], "deleted": False})
    assert example_errors("NfcDataGroups", {"DG1": "AA==", "DG2": "AA==", "DG17": "AA=="})
    assert example_errors("VerificationTokenRequest", {"token": "12345"})


def test_nullable_reference_accepts_null_and_the_model() -> None:
    assert example_errors("GdprStatusResponse", {"pending_deletion": None, "recent_exports": []}) == []
    scheduled = SCHEMAS["AccountDeletionResponse"]["example"]
    assert example_errors("GdprStatusResponse", {"pending_deletion": scheduled, "recent_exports": []}) == []


def test_media_type_examples_match_their_schemas() -> None:
    checked = 0
    for name, response in SPEC["components"]["responses"].items():
        media = response["content"][JSON]
        schema_name = media["schema"]["$ref"].rsplit("/", 1)[1]
        values = [media["example"]] if "example" in media else []
        values += [ex["value"] for ex in media.get("examples", {}).values()]
        assert values, name
        for value in values:
            assert example_errors(schema_name, value) == [], name
            checked += 1
    assert checked >= 20


# ---------------------------------------------------------------------------------
# Assumption markers, rules and limits


def assert_marked(node: dict[str, Any], where: str) -> None:
    assert node.get("x-kesk-source") in ("seed", "assumption"), f"{where}: no x-kesk-source"
    if node["x-kesk-source"] == "assumption":
        reason = node.get("x-kesk-reason")
        assert isinstance(reason, str) and reason.strip() and "\n" not in reason, f"{where}: no one-line x-kesk-reason"


@pytest.mark.parametrize("name", sorted(SCHEMAS))
def test_every_component_schema_is_marked(name: str) -> None:
    # The seed names models but never their fields, so every schema is a decision.
    assert_marked(SCHEMAS[name], name)
    assert SCHEMAS[name]["x-kesk-source"] == "assumption"


def test_every_non_seed_response_and_header_is_marked() -> None:
    for op_id, (_, _, op) in OPS.items():
        for status, response in op["responses"].items():
            # The seed gives return models but no status codes: 200 for the model is the
            # plain reading; every other status is a decision.
            if status != "200":
                assert_marked(resolve(response), f"{op_id} {status}")
            for header_name, header in resolve(response).get("headers", {}).items():
                assert_marked(resolve(header), f"{op_id} {status} {header_name}")
    for name, response in SPEC["components"]["responses"].items():
        assert_marked(response, f"components.responses.{name}")


def test_free_form_bodies_are_marked() -> None:
    for op_id in ("requestAccountDeletion", "requestDataExport"):
        assert_marked(OPS[op_id][2]["requestBody"]["content"][JSON]["schema"], op_id)


def test_rule_catalogue_is_complete_and_consistent() -> None:
    catalogue = {rule["id"]: rule for rule in SPEC["x-kesk-rules"]}
    assert len(catalogue) == len(SPEC["x-kesk-rules"])  # ids are unique
    assert set(catalogue) == {
        "EMAIL-PRIMARY-UNIQUE",
        "EMAIL-PRIMARY-VERIFIED",
        "EMAIL-PRIMARY-REMOVAL",
        "PHONE-PRIMARY-UNIQUE",
        "PHONE-PRIMARY-VERIFIED",
        "PHONE-PRIMARY-REMOVAL",
        "VERIFY-TOKEN",
        "OTP",
        "SENSITIVE-NEEDS-VERIFIED-EMAIL",
        "DELETION-GRACE",
        "EXPORT-FILE-LIFETIME",
        "EXPORT-OWNER-ONLY",
        "PAGINATION",
        "OWNER-SCOPE",
        "FAVOURITE-DUPLICATE",
        "FCM-IDEMPOTENT",
        "DELETE-ACCOUNT-PASSWORD",
        "NFC-VALIDATION",
        "MASS-ASSIGNMENT",
    }
    upstream = UPSTREAM_PATH.read_text(encoding="utf-8")
    for rule_id, rule in catalogue.items():
        assert rule["rule"].strip(), rule_id
        assert rule["source"] in ("seed", "assumption"), rule_id
        if rule["source"] == "seed":
            assert rule["quote"] in upstream, f"{rule_id}: the quote is not in the upstream reference"
        else:
            assert rule["reason"].strip(), rule_id
        assert rule["operations"] and set(rule["operations"]) <= set(OPS), rule_id
        # The catalogue and the operations agree in both directions.
        for op_id in OPS:
            listed = rule_id in OPS[op_id][2]["x-kesk-rules"]
            assert listed == (op_id in rule["operations"]), (rule_id, op_id)


def test_every_operation_lists_its_rules() -> None:
    for op_id, (_, _, op) in OPS.items():
        assert isinstance(op["x-kesk-rules"], list), op_id


def test_limits() -> None:
    limits = SPEC["x-kesk-limits"]
    assert_marked(limits, "x-kesk-limits")
    assert {k: v for k, v in limits.items() if not k.startswith("x-")} == {
        "verification_token_ttl_s": 900,
        "verification_token_max_attempts": 5,
        "otp_ttl_s": 600,
        "otp_max_attempts": 5,
        "deletion_grace_period_days": 30,
        "export_file_ttl_s": 604800,
        "per_page_default": 20,
        "per_page_max": 100,
        "gdpr_recent_exports_max": 10,
    }


# ---------------------------------------------------------------------------------
# Links


def all_links() -> Iterator[tuple[str, str, str, dict[str, Any]]]:
    for op_id, (_, _, op) in OPS.items():
        for status, response in op["responses"].items():
            for name, link in resolve(response).get("links", {}).items():
                yield op_id, status, name, link


def test_links_target_existing_operations_and_parameters() -> None:
    for op_id, status, name, link in all_links():
        target = link["operationId"]
        assert target in OPS, f"{op_id} {status} {name}: no operation {target}"
        params = {p["name"] for p in map(resolve, OPS[target][2].get("parameters", []))}
        for param, expression in link.get("parameters", {}).items():
            assert param in params, f"{op_id} -> {target}: no parameter {param}"
            assert re.match(r"^\$(response|request)\.body#/", expression), expression


@pytest.mark.parametrize(
    ("source", "target", "parameter", "expression"),
    [
        ("addUserEmail", "getUserEmail", "email_id", "$response.body#/id"),
        ("addUserEmail", "verifyUserEmail", "email_id", "$response.body#/id"),
        ("addUserEmail", "setPrimaryUserEmail", "email_id", "$response.body#/id"),
        ("addUserEmail", "removeUserEmail", "email_id", "$response.body#/id"),
        ("addUserPhone", "getUserPhone", "phone_id", "$response.body#/id"),
        ("addUserPhone", "verifyUserPhone", "phone_id", "$response.body#/id"),
        ("addUserPhone", "setPrimaryUserPhone", "phone_id", "$response.body#/id"),
        ("addUserPhone", "removeUserPhone", "phone_id", "$response.body#/id"),
        ("requestAccountDeletion", "confirmAccountDeletion", None, None),
        ("requestAccountDeletion", "cancelAccountDeletion", None, None),
        ("requestDataExport", "confirmDataExport", None, None),
        ("confirmDataExport", "downloadExport", "filename", "$response.body#/filename"),
        ("getGdprStatus", "downloadExport", "filename", "$response.body#/recent_exports/0/filename"),
        ("registerFcmToken", "unregisterFcmToken", "fcm_token", "$request.body#/fcm_token"),
        ("addFavouriteProduct", "removeFavouriteProduct", "id", "$request.body#/product_id"),
    ],
)
def test_lifecycle_link(source: str, target: str, parameter: str | None, expression: str | None) -> None:
    links = [link for op_id, _, _, link in all_links() if op_id == source and link["operationId"] == target]
    assert links, f"no link {source} -> {target}"
    if parameter is not None:
        assert links[0]["parameters"] == {parameter: expression}
