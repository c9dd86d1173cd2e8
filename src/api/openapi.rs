//! `GET /api/v1/openapi.json`: the REST API described as OpenAPI 3.1. `tests/rest_api.rs` calls
//! every documented operation with a signed request, and checks the documented refusal codes
//! are the server's, so the document cannot drift from what the server does.

use serde_json::{Value, json};

use super::Refusal;
use crate::webhooks::EVENTS;

/// The refusal codes a 401 or 413 answer can carry.
pub const REFUSAL_CODES: [Refusal; 8] = [
    Refusal::MissingTimestamp,
    Refusal::MissingSignature,
    Refusal::MalformedTimestamp,
    Refusal::StaleTimestamp,
    Refusal::FutureTimestamp,
    Refusal::BadSignature,
    Refusal::ExpiredSecret,
    Refusal::BodyTooLarge,
];

pub fn document() -> Value {
    let codes: Vec<&str> = REFUSAL_CODES
        .iter()
        .map(|r| r.code())
        .chain(super::webhooks::ERROR_CODES)
        .collect();
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
    let error = |description: &str| {
        json!({ "description": description,
                "content": { "application/json": { "schema": { "$ref": "#/components/schemas/Error" } } } })
    };
    let webhook_id = json!({
        "name": "webhook_id", "in": "path", "required": true,
        "schema": { "type": "string", "format": "uuid" }
    });
    let mut create_responses = refused.clone();
    create_responses["201"] = json!({
        "description": "Added; its ping event is on its way.",
        "content": { "application/json": { "schema": { "$ref": "#/components/schemas/Webhook" } } }
    });
    create_responses["409"] = error(
        "no_webhook_signer (the environment has no API secret) or webhook_limit_reached (10).",
    );
    create_responses["422"] = error("invalid_webhook: the message says which field and why.");
    let mut delete_responses = refused.clone();
    delete_responses["204"] = json!({ "description": "Removed, with its delivery log." });
    delete_responses["404"] = error("not_found");
    let mut deliveries_responses = with_ok(
        "The latest 50 deliveries, newest first.",
        json!({ "type": "array", "items": { "$ref": "#/components/schemas/Delivery" } }),
    );
    deliveries_responses["404"] = error("not_found");
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
                    "parameters": [environment_id.clone()],
                    "responses": with_ok("The secrets, oldest first.", json!({
                        "type": "array", "items": { "$ref": "#/components/schemas/ApiSecret" }
                    }))
                }
            },
            "/api/v1/environments/{environment_id}/failed-requests": {
                "get": {
                    "operationId": "listFailedRequests",
                    "summary": "The environment's latest refused signed requests (up to 200), and why.",
                    "parameters": [environment_id.clone()],
                    "responses": with_ok("Newest first.", json!({
                        "type": "array", "items": { "$ref": "#/components/schemas/FailedRequest" }
                    }))
                }
            },
            "/api/v1/environments/{environment_id}/webhooks": {
                "get": {
                    "operationId": "listWebhooks",
                    "summary": "The environment's webhooks.",
                    "parameters": [environment_id.clone()],
                    "responses": with_ok("The webhooks, oldest first.", json!({
                        "type": "array", "items": { "$ref": "#/components/schemas/Webhook" }
                    }))
                },
                "post": {
                    "operationId": "createWebhook",
                    "summary": "Add a webhook (needs a webhook signer: any API secret). Sends it a ping event.",
                    "parameters": [environment_id.clone()],
                    "requestBody": { "required": true, "content": { "application/json": {
                        "schema": { "$ref": "#/components/schemas/NewWebhook" } } } },
                    "responses": create_responses
                }
            },
            "/api/v1/environments/{environment_id}/webhooks/{webhook_id}": {
                "delete": {
                    "operationId": "deleteWebhook",
                    "summary": "Remove a webhook and its delivery log; pending deliveries are not sent.",
                    "parameters": [environment_id.clone(), webhook_id.clone()],
                    "responses": delete_responses
                }
            },
            "/api/v1/environments/{environment_id}/webhooks/{webhook_id}/deliveries": {
                "get": {
                    "operationId": "listDeliveries",
                    "summary": "A webhook's delivery log.",
                    "parameters": [environment_id, webhook_id],
                    "responses": deliveries_responses
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
                "NewWebhook": {
                    "type": "object", "required": ["url", "events"], "additionalProperties": false,
                    "properties": {
                        "url": { "type": "string", "format": "uri", "maxLength": 2048,
                                 "description": "https (plain http only where the server allows it); public addresses only." },
                        "events": { "type": "array", "minItems": 1, "items": { "$ref": "#/components/schemas/Event" } },
                        "max_retries": { "type": "integer", "minimum": 0, "maximum": 20, "default": 5 },
                        "retry_interval_minutes": { "type": "integer", "minimum": 1, "maximum": 1440, "default": 10 }
                    }
                },
                "Webhook": {
                    "type": "object",
                    "required": ["id", "url", "events", "max_retries", "retry_interval_minutes", "created_at"],
                    "properties": {
                        "id": { "type": "string", "format": "uuid" },
                        "url": { "type": "string", "format": "uri" },
                        "events": { "type": "array", "items": { "$ref": "#/components/schemas/Event" } },
                        "max_retries": { "type": "integer" },
                        "retry_interval_minutes": { "type": "integer" },
                        "created_at": { "type": "string", "format": "date-time" }
                    }
                },
                "Event": { "type": "string", "enum": EVENTS },
                "Delivery": {
                    "type": "object",
                    "required": ["id", "event", "status", "attempts", "last_status_code", "last_error", "next_attempt_at", "attempt_in_progress", "created_at"],
                    "properties": {
                        "id": { "type": "string", "format": "uuid", "description": "Also sent as X-CS-Delivery: drop duplicates by it." },
                        "event": { "$ref": "#/components/schemas/Event" },
                        "status": { "type": "string", "enum": ["pending", "delivered", "failed"] },
                        "attempts": { "type": "integer" },
                        "last_status_code": { "type": ["integer", "null"] },
                        "last_error": { "type": ["string", "null"], "description": "Why the last attempt got no HTTP response." },
                        "next_attempt_at": { "type": ["string", "null"], "format": "date-time", "description": "When a pending delivery is due; while an attempt is under way, when it is given up for lost and retried." },
                        "attempt_in_progress": { "type": "boolean", "description": "An attempt is under way (for up to the 15-second timeout)." },
                        "created_at": { "type": "string", "format": "date-time" }
                    }
                },
                "ApiSecret": {
                    "type": "object",
                    "required": ["id", "masked", "label", "created_at", "last_used_at", "webhook_signer", "expires_at"],
                    "properties": {
                        "id": { "type": "string", "format": "uuid" },
                        "masked": { "type": "string", "examples": ["csk_…a1B2"] },
                        "label": { "type": "string" },
                        "created_at": { "type": "string", "format": "date-time" },
                        "last_used_at": { "type": ["string", "null"], "format": "date-time", "description": "Its latest accepted request: this call's own at once, others' to within a minute." },
                        "webhook_signer": { "type": "boolean", "description": "Whether it signs the environment's webhooks." },
                        "expires_at": { "type": ["string", "null"], "format": "date-time", "description": "From this moment on it verifies nothing." }
                    }
                },
                "FailedRequest": {
                    "type": "object",
                    "required": ["at", "method", "path", "address", "user_agent", "reason", "message"],
                    "properties": {
                        "at": { "type": "string", "format": "date-time" },
                        "method": { "type": "string" },
                        "path": { "type": "string", "description": "Without the query." },
                        "address": { "type": ["string", "null"], "description": "The client's address." },
                        "user_agent": { "type": "string" },
                        "reason": { "type": "string", "description": "The refusal's code, as in the 401 or 413 answer." },
                        "message": { "type": "string", "description": "What it means; for a timestamp outside the window, by how much against our clock." }
                    }
                }
            }
        }
    })
}
