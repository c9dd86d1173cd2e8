//! `GET /api/v1/openapi.json`: the REST API described as OpenAPI 3.1. `tests/rest_api.rs` calls
//! every documented operation with a signed request, and checks the documented refusal codes
//! are the server's, so the document cannot drift from what the server does.

use serde_json::{Value, json};

use super::Refusal;

/// The refusal codes a 401 or 413 answer can carry.
pub const REFUSAL_CODES: [Refusal; 7] = [
    Refusal::MissingTimestamp,
    Refusal::MissingSignature,
    Refusal::MalformedTimestamp,
    Refusal::StaleTimestamp,
    Refusal::FutureTimestamp,
    Refusal::BadSignature,
    Refusal::BodyTooLarge,
];

pub fn document() -> Value {
    let codes: Vec<&str> = REFUSAL_CODES.iter().map(|r| r.code()).collect();
    let environment_id = json!({
        "name": "environment_id", "in": "path", "required": true,
        "description": "The environment's id, shown in the portal as \"Environment ID\".",
        "schema": { "type": "string", "format": "uuid" }
    });
    let refused = json!({
        "401": { "description": "Not signed, or not signed right (the reason is named).",
                 "content": { "application/json": { "schema": { "$ref": "#/components/schemas/Error" } } } },
        "413": { "description": "The body is larger than 1 MiB.",
                 "content": { "application/json": { "schema": { "$ref": "#/components/schemas/Error" } } } }
    });
    let with_ok = |description: &str, schema: Value| {
        let mut responses = refused.clone();
        responses["200"] = json!({
            "description": description,
            "content": { "application/json": { "schema": schema } }
        });
        responses
    };
    json!({
        "openapi": "3.1.0",
        "info": {
            "title": "Customer Portal REST API",
            "version": "1",
            "description": "Every request is signed with one of the environment's API secrets: X-CS-Timestamp (milliseconds since the Unix epoch, within 5 minutes of the server's clock) and X-CS-Signature (lowercase hex HMAC-SHA256 of UPPER(method) + path_and_query + timestamp + body, keyed with the API secret)."
        },
        "security": [{ "timestamp": [], "signature": [] }],
        "paths": {
            "/api/v1/environments/{environment_id}/ping": {
                "get": {
                    "operationId": "ping",
                    "summary": "Check your signing: which environment, which API secret matched.",
                    "parameters": [environment_id.clone()],
                    "responses": with_ok("Signed right.", json!({ "$ref": "#/components/schemas/Pong" }))
                }
            },
            "/api/v1/environments/{environment_id}/api-secrets": {
                "get": {
                    "operationId": "listApiSecrets",
                    "summary": "The environment's API secrets (metadata: values are never available).",
                    "parameters": [environment_id],
                    "responses": with_ok("The secrets, oldest first.", json!({
                        "type": "array", "items": { "$ref": "#/components/schemas/ApiSecret" }
                    }))
                }
            }
        },
        "components": {
            "securitySchemes": {
                "timestamp": { "type": "apiKey", "in": "header", "name": "X-CS-Timestamp" },
                "signature": { "type": "apiKey", "in": "header", "name": "X-CS-Signature" }
            },
            "schemas": {
                "Error": {
                    "type": "object", "required": ["error", "message"],
                    "properties": {
                        "error": { "type": "string", "enum": codes },
                        "message": { "type": "string" }
                    }
                },
                "Pong": {
                    "type": "object", "required": ["environment_id", "signed_with"],
                    "properties": {
                        "environment_id": { "type": "string", "format": "uuid" },
                        "signed_with": { "type": "string", "format": "uuid", "description": "The id of the API secret whose signature matched." }
                    }
                },
                "ApiSecret": {
                    "type": "object",
                    "required": ["id", "masked", "label", "created_at", "last_used_at", "webhook_signer"],
                    "properties": {
                        "id": { "type": "string", "format": "uuid" },
                        "masked": { "type": "string", "examples": ["csk_…a1B2"] },
                        "label": { "type": "string" },
                        "created_at": { "type": "string", "format": "date-time" },
                        "last_used_at": { "type": ["string", "null"], "format": "date-time" },
                        "webhook_signer": { "type": "boolean", "description": "Whether it signs the environment's webhooks." }
                    }
                }
            }
        }
    })
}
