//! Generates the JS client's protocol files from these types: a JSON Schema (schemars) and
//! TypeScript declarations translated from that schema, so the two can never drift from Rust.
//! Run `cargo run -p kato-protocol --bin generate`; `tests/generated.rs` fails when stale.

use serde_json::{json, Map, Value};

use crate::close::{CloseCode, ReconnectPolicy};
use crate::error::ErrorCode;
use crate::prediction::PredictionSet;
use crate::{ClientFrame, ServerFrame};

/// Where the generated files live, relative to the workspace root.
pub const SCHEMA_PATH: &str = "client-js/src/generated/protocol.schema.json";
pub const TYPESCRIPT_PATH: &str = "client-js/src/generated/protocol.ts";

const HEADER: &str = "// GENERATED from protocol/ (Rust) by `cargo run -p kato-protocol --bin generate`.\n// Do not edit: change the Rust types and regenerate.\n";

/// The JSON Schema of every frame (`$defs` holds each type; the root accepts any frame).
pub fn schema() -> Value {
    let mut generator = schemars::generate::SchemaSettings::draft2020_12().into_generator();
    let client = generator.subschema_for::<ClientFrame>();
    let server = generator.subschema_for::<ServerFrame>();
    generator.subschema_for::<PredictionSet>();
    generator.subschema_for::<CloseCode>();
    generator.subschema_for::<ReconnectPolicy>();
    let definitions: Map<String, Value> = generator
        .definitions()
        .iter()
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    let mut sorted: Vec<(String, Value)> = definitions.into_iter().collect();
    sorted.sort_by(|a, b| a.0.cmp(&b.0));
    json!({
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "title": "KATO real-time protocol v1 (kato.v1.json)",
        "description": "Every frame of PROTOCOL.md; generated from protocol/ (Rust).",
        "anyOf": [client.to_value(), server.to_value()],
        "$defs": Value::Object(sorted.into_iter().collect()),
    })
}

/// The schema file's text.
pub fn schema_text() -> String {
    serde_json::to_string_pretty(&schema()).expect("schema serialises") + "\n"
}

/// TypeScript: one `export type` per schema definition, plus the close-code and error-code
/// tables taken from the Rust enums.
pub fn typescript() -> String {
    let schema = schema();
    let mut out = String::from(HEADER);
    let defs = schema["$defs"].as_object().expect("$defs");
    for (name, def) in defs {
        out.push('\n');
        if let Some(doc) = def.get("description").and_then(Value::as_str) {
            out.push_str(&doc_comment(doc, ""));
        }
        out.push_str(&format!("export type {name} = {};\n", ts_type(def, "")));
    }
    out.push_str(
        "\n/** PROTOCOL.md §7: close code number → name and what the client should do. */\n",
    );
    out.push_str("export const CLOSE_CODES = {\n");
    for code in CloseCode::ALL {
        let name = serde_json::to_value(code).expect("name");
        let policy = serde_json::to_value(code.reconnect_policy()).expect("policy");
        out.push_str(&format!(
            "  {}: {{ name: {name}, policy: {policy}, reason: {} }},\n",
            code.code(),
            json!(code.reason())
        ));
    }
    out.push_str("} as const satisfies Record<number, { name: CloseCode; policy: ReconnectPolicy; reason: string }>;\n");
    out.push_str("\n/** Every wire error code. */\nexport const ERROR_CODES = [\n");
    for code in ErrorCode::ALL {
        out.push_str(&format!("  {},\n", json!(code.as_str())));
    }
    out.push_str("] as const satisfies readonly ErrorCode[];\n");
    out
}

fn doc_comment(doc: &str, indent: &str) -> String {
    let mut out = format!("{indent}/**\n");
    for line in doc.lines() {
        let line = format!("{indent} * {}", line.replace("*/", "*\\/"));
        out.push_str(line.trim_end());
        out.push('\n');
    }
    out.push_str(&format!("{indent} */\n"));
    out
}

/// Translates one schema node (the subset schemars emits) into a TypeScript type.
fn ts_type(schema: &Value, indent: &str) -> String {
    let object = match schema {
        Value::Bool(true) => return "unknown".into(),
        Value::Bool(false) => return "never".into(),
        Value::Object(o) => o,
        other => panic!("unexpected schema node {other}"),
    };
    let mut parts: Vec<String> = Vec::new();
    if let Some(reference) = object.get("$ref").and_then(Value::as_str) {
        parts.push(reference.rsplit('/').next().expect("ref name").to_string());
    }
    if let Some(constant) = object.get("const") {
        return constant.to_string();
    }
    if let Some(values) = object.get("enum").and_then(Value::as_array) {
        return values
            .iter()
            .map(Value::to_string)
            .collect::<Vec<_>>()
            .join(" | ");
    }
    for key in ["oneOf", "anyOf"] {
        if let Some(members) = object.get(key).and_then(Value::as_array) {
            let union: Vec<String> = members.iter().map(|m| ts_type(m, indent)).collect();
            parts.push(format!("({})", union.join(" | ")));
        }
    }
    if let Some(members) = object.get("allOf").and_then(Value::as_array) {
        parts.extend(members.iter().map(|m| ts_type(m, indent)));
    }
    let types: Vec<&str> = match object.get("type") {
        Some(Value::String(t)) => vec![t.as_str()],
        Some(Value::Array(list)) => list.iter().filter_map(Value::as_str).collect(),
        _ => Vec::new(),
    };
    if !types.is_empty() {
        let alternatives: Vec<String> = types
            .iter()
            .map(|t| match *t {
                "string" => "string".into(),
                "integer" | "number" => "number".into(),
                "boolean" => "boolean".into(),
                "null" => "null".into(),
                "array" => {
                    let items = object
                        .get("items")
                        .map_or("unknown".into(), |i| ts_type(i, indent));
                    format!("Array<{items}>")
                }
                "object" => ts_object(object, indent),
                other => panic!("unexpected schema type {other}"),
            })
            .collect();
        parts.push(if alternatives.len() > 1 {
            format!("({})", alternatives.join(" | "))
        } else {
            alternatives.into_iter().next().expect("one")
        });
    } else if object.contains_key("properties") {
        parts.push(ts_object(object, indent));
    }
    match parts.len() {
        0 => "unknown".into(),
        1 => parts.remove(0),
        _ => parts.join(" & "),
    }
}

fn ts_object(object: &Map<String, Value>, indent: &str) -> String {
    let required: Vec<&str> = object
        .get("required")
        .and_then(Value::as_array)
        .map(|r| r.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default();
    let Some(properties) = object.get("properties").and_then(Value::as_object) else {
        return match object.get("additionalProperties") {
            Some(Value::Bool(false)) => "Record<string, never>".into(),
            Some(value @ Value::Object(_)) => {
                format!("{{ [key: string]: {} }}", ts_type(value, indent))
            }
            _ => "{ [key: string]: unknown }".into(),
        };
    };
    let inner = format!("{indent}  ");
    let mut out = String::from("{\n");
    for (name, property) in properties {
        if let Some(doc) = property.get("description").and_then(Value::as_str) {
            out.push_str(&doc_comment(doc, &inner));
        }
        let optional = if required.contains(&name.as_str()) {
            ""
        } else {
            "?"
        };
        out.push_str(&format!(
            "{inner}{}{optional}: {};\n",
            json!(name),
            ts_type(property, &inner)
        ));
    }
    out.push_str(indent);
    out.push('}');
    out
}
