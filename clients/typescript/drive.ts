/**
 * Drives all 30 operations of spec/openapi.yaml through openapi-generator's `typescript-fetch`
 * client, against a server that also implements spec/test-support.yaml (the reference server does).
 *
 * tests/spec/test_typescript_client.py generates the client into `./generated/` next to a copy of
 * this file, compiles both with `tsc --strict` and runs `node dist/drive.js BASE_URL`
 * (BASE_URL ends in /v1). Each answer is read twice: as the raw JSON the server sent and as the
 * client's model (the generated `...FromJSON`); the run fails if the model loses a field the
 * server sent, a date does not parse, or the model's `instanceOf...` guard rejects it.
 *
 * Prints one JSON line on stdout, `{"operations": {"<operationId>": {"status": 201}, ...},
 * "failure": null | {"operation": ..., "message": ...}}`, and exits 1 naming the operation on the
 * first failure (later calls depend on earlier ones, so there is nothing to gain from going on).
 */

import {
  type ApiResponse,
  Configuration,
  ExportDocumentFromJSON,
  ResponseError,
  UserApi,
  instanceOfAccountDeletionResponse,
  instanceOfDataExportResponse,
  instanceOfDeleteAccountResult,
  instanceOfExportDocument,
  instanceOfGdprStatusResponse,
  instanceOfGenericSuccess,
  instanceOfMessageResponse,
  instanceOfMyProfileResponse,
  instanceOfNfcIdentityVerificationResponse,
  instanceOfPaginatedResponseFavourite,
  instanceOfPaginatedResponseUserEmailResponse,
  instanceOfPaginatedResponseUserPhoneNumberResponse,
  instanceOfProfileValidationResponse,
  instanceOfUserEmailResponse,
  instanceOfUserPhoneNumberResponse,
  instanceOfVerificationSession,
  instanceOfVerificationStatusResponse,
} from "./generated/index.js";

type Guard = (value: object) => boolean;

interface TestUser {
  token: string;
  password: string;
  email: string;
}

interface OutboxMessage {
  address: string;
  purpose: string;
  code: string;
}

/** A failed call; `operation` is the operationId (or the test-support step) that failed. */
class DriveFailure extends Error {
  constructor(
    readonly operation: string,
    message: string,
  ) {
    super(message);
  }
}

const EXPORT_READY_TIMEOUT_MS = 10_000;

// The ICAO 9303 specimen passport (Anna Maria Eriksson) with matching SHA-256 data-group hashes:
// the example the contract gives for NfcIdentityVerificationRequest, which the reference server accepts.
const NFC_SUBMISSION = {
  mrz: "P<UTOERIKSSON<<ANNA<MARIA<<<<<<<<<<<<<<<<<<<\nL898902C36UTO7408122F3404159ZE184226B<<<<<16",
  dataGroups: {
    // The generator names the DG1 property dG1 (its camelCase lowers the first letter); it sends "DG1".
    dG1: "UDxVVE9FUklLU1NPTjw8QU5OQTxNQVJJQTw8PDw8PDw8PDw8PDw8PDw8PDxMODk4OTAyQzM2VVRPNzQwODEyMkYzNDA0MTU5WkUxODQyMjZCPDw8PDwxNg==",
    dG2: "/9j/4AAQSkZJRg==",
  },
  securityObject: {
    hashAlgorithm: "SHA-256" as const,
    dataGroupHashes: {
      dG1: "92ff496c420b3385fda264e944ef8f1ecdc158578bfcd3f68cd1267a9198b603",
      dG2: "45ae705277879f7f01d778f7c95a065bb0c06ab9936cf24307f375211fee13d1",
    },
  },
  chipAuthentication: {
    method: "chip_authentication" as const,
    result: "succeeded" as const,
    publicKey: "AQIDBAUGBwgJCgsMDQ4PEBESExQVFhcYGRobHB0eHyA=",
  },
};

const results: Record<string, { status: number }> = {};

/** JSON key -> the generator's default camelCase property: `pending_deletion` -> `pendingDeletion`, `DG1` -> `dG1`. */
function camel(key: string): string {
  const joined = key.replace(/_([a-zA-Z0-9])/g, (_, c: string) => c.toUpperCase());
  return joined.charAt(0).toLowerCase() + joined.slice(1);
}

/**
 * Every value the server sent must survive in the model: a field the model does not know (a renamed
 * or undeclared property) comes out `undefined`, and a date-time that does not parse an Invalid Date.
 */
function compare(raw: unknown, model: unknown, path: string): string | null {
  if (raw === null) {
    return model === null || model === undefined ? null : `${path}: null became ${JSON.stringify(model)}`;
  }
  if (model === undefined) {
    return `${path}: the server sent ${JSON.stringify(raw)}, the client's model has no such field`;
  }
  if (model instanceof Date) {
    return Number.isNaN(model.getTime()) ? `${path}: ${JSON.stringify(raw)} is not a date` : null;
  }
  if (model instanceof Set) {
    // `uniqueItems: true` arrays deserialise to a Set, in the order the server sent them.
    return compare(raw, Array.from(model), path);
  }
  if (Array.isArray(raw)) {
    if (!Array.isArray(model) || model.length !== raw.length) {
      return `${path}: an array of ${raw.length} became ${JSON.stringify(model)}`;
    }
    for (const [index, item] of raw.entries()) {
      const problem = compare(item, model[index], `${path}[${index}]`);
      if (problem !== null) return problem;
    }
    return null;
  }
  if (typeof raw === "object") {
    if (typeof model !== "object" || model === null) {
      return `${path}: an object became ${JSON.stringify(model)}`;
    }
    const fields = model as Record<string, unknown>;
    for (const [key, value] of Object.entries(raw)) {
      // Free-form maps keep their keys; models rename them to camelCase.
      const name = key in fields ? key : camel(key);
      const problem = compare(value, fields[name], `${path}.${key}`);
      if (problem !== null) return problem;
    }
    return null;
  }
  return raw === model ? null : `${path}: ${JSON.stringify(raw)} became ${JSON.stringify(model)}`;
}

async function describe(error: unknown): Promise<string> {
  if (error instanceof ResponseError) {
    // The error body says why (an ErrorResponse); it never carries the bearer token.
    const body = await error.response.text().catch(() => "");
    return `HTTP ${error.response.status} ${error.response.url}: ${body.slice(0, 500)}`;
  }
  return error instanceof Error ? `${error.name}: ${error.message}` : String(error);
}

/** Call one operation through its `...Raw` method; check the answer against the model; record it. */
async function call<T extends object>(
  operation: string,
  send: () => Promise<ApiResponse<T>>,
  guard: Guard,
  sent: (text: string) => unknown = (text) => JSON.parse(text),
): Promise<T> {
  let response: ApiResponse<T>;
  try {
    response = await send();
  } catch (error) {
    throw new DriveFailure(operation, await describe(error));
  }
  const text = await response.raw.clone().text();
  let model: T;
  try {
    model = await response.value();
  } catch (error) {
    throw new DriveFailure(operation, `the client cannot read the answer: ${await describe(error)}: ${text}`);
  }
  if (!guard(model)) {
    throw new DriveFailure(operation, `the answer is not the documented model: ${text}`);
  }
  const problem = compare(sent(text), model, "$");
  if (problem !== null) throw new DriveFailure(operation, problem);
  results[operation] = { status: response.raw.status };
  return model;
}

/** The test-support contract is not part of the client: plain fetch. */
async function testSupport<T>(base: string, step: string, path: string, init?: RequestInit): Promise<T> {
  const response = await fetch(`${base}${path}`, {
    ...init,
    headers: { "Content-Type": "application/json; charset=utf-8", ...init?.headers },
  });
  if (!response.ok) {
    throw new DriveFailure(step, `HTTP ${response.status} ${path}: ${(await response.text()).slice(0, 500)}`);
  }
  return (await response.json()) as T;
}

/** The newest code the server "sent" to `address` for `purpose` (test-support GET /_test/outbox). */
async function code(base: string, address: string, purpose: string): Promise<string> {
  const query = new URLSearchParams({ address, purpose });
  const outbox = await testSupport<{ messages: OutboxMessage[] }>(base, "readOutbox", `/_test/outbox?${query}`);
  const last = outbox.messages.at(-1);
  if (last === undefined) throw new DriveFailure("readOutbox", `no ${purpose} message to ${address}`);
  return last.code;
}

async function drive(base: string): Promise<void> {
  const user = await testSupport<TestUser>(base, "createTestUser", "/_test/users", { method: "POST", body: "{}" });
  const api = new UserApi(new Configuration({ basePath: base, accessToken: user.token }));
  const tag = `${Date.now().toString(36)}${Math.floor(Math.random() * 1e6).toString(36)}`;

  // Profile
  await call("getMyProfile", () => api.getMyProfileRaw(), instanceOfMyProfileResponse);
  await call("getProfileValidation", () => api.getProfileValidationRaw(), instanceOfProfileValidationResponse);

  // Emails: add, read, verify with the outboxed token, make it primary, remove the old primary.
  const email = `ts-client-${tag}@example.com`;
  const added = await call(
    "addUserEmail",
    () => api.addUserEmailRaw({ createUserEmailRequest: { email } }),
    instanceOfUserEmailResponse,
  );
  const emails = await call(
    "listUserEmails",
    () => api.listUserEmailsRaw({ page: 1, perPage: 50 }),
    instanceOfPaginatedResponseUserEmailResponse,
  );
  await call("getUserEmail", () => api.getUserEmailRaw({ emailId: added.id }), instanceOfUserEmailResponse);
  const emailToken = await code(base, email, "email_verification");
  await call(
    "verifyUserEmail",
    () => api.verifyUserEmailRaw({ emailId: added.id, verificationTokenRequest: { token: emailToken } }),
    instanceOfUserEmailResponse,
  );
  await call(
    "setPrimaryUserEmail",
    () => api.setPrimaryUserEmailRaw({ emailId: added.id }),
    instanceOfUserEmailResponse,
  );
  const original = emails.items.find((row) => row.email === user.email);
  if (original === undefined) throw new DriveFailure("listUserEmails", `the user's own ${user.email} is not listed`);
  await call("removeUserEmail", () => api.removeUserEmailRaw({ emailId: original.id }), instanceOfMessageResponse);

  // Phones: two numbers of Ofcom's drama range; the first becomes primary, the second is removed.
  const phone = await call(
    "addUserPhone",
    () => api.addUserPhoneRaw({ createUserPhoneNumberRequest: { phoneNumber: "020 7946 0958", countryCode: "GB" } }),
    instanceOfUserPhoneNumberResponse,
  );
  const spare = await call(
    "addUserPhone",
    () => api.addUserPhoneRaw({ createUserPhoneNumberRequest: { phoneNumber: "020 7946 0959", countryCode: "GB" } }),
    instanceOfUserPhoneNumberResponse,
  );
  await call("listUserPhones", () => api.listUserPhonesRaw({}), instanceOfPaginatedResponseUserPhoneNumberResponse);
  await call("getUserPhone", () => api.getUserPhoneRaw({ phoneId: phone.id }), instanceOfUserPhoneNumberResponse);
  const smsToken = await code(base, "+442079460958", "phone_verification");
  await call(
    "verifyUserPhone",
    () => api.verifyUserPhoneRaw({ phoneId: phone.id, verificationTokenRequest: { token: smsToken } }),
    instanceOfUserPhoneNumberResponse,
  );
  await call(
    "setPrimaryUserPhone",
    () => api.setPrimaryUserPhoneRaw({ phoneId: phone.id }),
    instanceOfUserPhoneNumberResponse,
  );
  await call("removeUserPhone", () => api.removeUserPhoneRaw({ phoneId: spare.id }), instanceOfMessageResponse);

  // Favourites
  await call(
    "addFavouriteProduct",
    () => api.addFavouriteProductRaw({ addFavouriteProductInput: { productId: 1001 } }),
    instanceOfMessageResponse,
  );
  await call("listFavouriteProducts", () => api.listFavouriteProductsRaw({}), instanceOfPaginatedResponseFavourite);
  await call("removeFavouriteProduct", () => api.removeFavouriteProductRaw({ id: 1001 }), instanceOfMessageResponse);

  // Push tokens
  const fcmToken = `ts-client-${tag}:APA91bHun4MxP5egoKMwt2KZFBaFUH`;
  await call(
    "registerFcmToken",
    () => api.registerFcmTokenRaw({ registerFcmTokenRequest: { fcmToken, platform: "android" } }),
    instanceOfGenericSuccess,
  );
  await call("unregisterFcmToken", () => api.unregisterFcmTokenRaw({ fcmToken }), instanceOfGenericSuccess);

  // Identity verification
  await call(
    "appCreateVerificationSession",
    () => api.appCreateVerificationSessionRaw(),
    instanceOfVerificationSession,
  );
  await call(
    "appSubmitNfcVerification",
    () => api.appSubmitNfcVerificationRaw({ nfcIdentityVerificationRequest: NFC_SUBMISSION }),
    instanceOfNfcIdentityVerificationResponse,
  );
  await call("appGetVerificationStatus", () => api.appGetVerificationStatusRaw(), instanceOfVerificationStatusResponse);

  // Data export: request, confirm with the emailed OTP, wait until the job is ready, download.
  await call(
    "requestDataExport",
    () => api.requestDataExportRaw({ body: { format: "json" } }),
    instanceOfDataExportResponse,
  );
  const exportOtp = await code(base, email, "data_export");
  await call(
    "confirmDataExport",
    () => api.confirmDataExportRaw({ confirmDataExportPayload: { otp: exportOtp } }),
    instanceOfDataExportResponse,
  );
  let filename: string | null | undefined = null;
  const started = Date.now();
  while (!filename) {
    const status = await call("getGdprStatus", () => api.getGdprStatusRaw(), instanceOfGdprStatusResponse);
    const newest = status.recentExports[0];
    filename = newest?.status === "ready" ? newest.filename : null;
    if (!filename && Date.now() - started > EXPORT_READY_TIMEOUT_MS) {
      throw new DriveFailure("getGdprStatus", `the export is not ready after ${EXPORT_READY_TIMEOUT_MS} ms`);
    }
    if (!filename) await new Promise((resolve) => setTimeout(resolve, 50));
  }
  // The body is a JSON string whose value is the export document: the client returns that string,
  // so the model check reads it as an ExportDocument.
  const readyFile = filename;
  await call(
    "downloadExport",
    async () => {
      const response = await api.downloadExportRaw({ filename: readyFile });
      return { raw: response.raw, value: async () => ExportDocumentFromJSON(JSON.parse(await response.value())) };
    },
    instanceOfExportDocument,
    (text) => JSON.parse(JSON.parse(text) as string),
  );

  // Account deletion: request, confirm with the OTP, cancel in the grace period, then delete for good.
  await call(
    "requestAccountDeletion",
    () => api.requestAccountDeletionRaw({ body: { reason: "typescript client check" } }),
    instanceOfAccountDeletionResponse,
  );
  const deletionOtp = await code(base, email, "account_deletion");
  await call(
    "confirmAccountDeletion",
    () => api.confirmAccountDeletionRaw({ confirmAccountDeletionPayload: { otp: deletionOtp } }),
    instanceOfAccountDeletionResponse,
  );
  await call("cancelAccountDeletion", () => api.cancelAccountDeletionRaw(), instanceOfAccountDeletionResponse);
  await call(
    "deleteAccount",
    () => api.deleteAccountRaw({ deleteAccountRequest: { password: user.password } }),
    instanceOfDeleteAccountResult,
  );
}

async function main(): Promise<number> {
  const base = process.argv[2];
  if (base === undefined) {
    process.stderr.write("usage: node drive.js BASE_URL  (the API base URL, ending in /v1)\n");
    return 2;
  }
  let failure: { operation: string; message: string } | null = null;
  try {
    await drive(base.replace(/\/$/, ""));
  } catch (error) {
    failure =
      error instanceof DriveFailure
        ? { operation: error.operation, message: error.message }
        : { operation: "(driver)", message: await describe(error) };
    process.stderr.write(`FAILED ${failure.operation}: ${failure.message}\n`);
  }
  process.stdout.write(`${JSON.stringify({ operations: results, failure })}\n`);
  return failure === null ? 0 : 1;
}

process.exitCode = await main();
