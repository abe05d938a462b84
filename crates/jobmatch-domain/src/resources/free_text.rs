//! The schema of every free-text field (names, titles, descriptions, external
//! ids), written once: what [`Checker::text`](crate::validation::Checker::text)
//! accepts, after trimming white space not empty, not only invisible
//! characters, and no control character but tab and newline, no bidirectional
//! override, as one JSON Schema `pattern`, with the field's bound in characters.
//!
//! utoipa takes `pattern` only as a string literal, so the fields name a
//! function here with `schema_with`; such a schema replaces the derived one
//! whole (the field's doc comment and nullability with it), so each function
//! also says its field's description, example and whether `null` is allowed.
//! The schema stays inline: the service's validation reads `maxLength` from it
//! (`schema_facts`), and the OpenAPI document is as before.

use utoipa::openapi::schema::{Object, ObjectBuilder, SchemaType, Type};

use super::limits;

/// What `Checker::text` accepts, as a regular expression over the text as sent:
/// optional white space, then one visible character, or a visible character,
/// anything without control characters (tab and newline excepted) or
/// bidirectional controls, and a visible character; then optional white space.
pub const FREE_TEXT_PATTERN: &str = r"^[\t\n\x0B\x0C\r \x85\xA0\u1680\u2000-\u200A\u2028\u2029\u202F\u205F\u3000]*[^\x00-\x20\x7F-\xA0\u1680\u2000-\u200A\u2028\u2029\u202F\u205F\u3000\xAD\u034F\u061C\u115F\u1160\u17B4\u17B5\u180B-\u180F\u200B-\u200F\u2060-\u206F\u3164\uFE00-\uFE0F\uFEFF\uFFA0\u202A-\u202E\u2066-\u2069]([^\x00-\x08\x0B-\x1F\x7F-\x9F\u202A-\u202E\u2066-\u2069]*[^\x00-\x20\x7F-\xA0\u1680\u2000-\u200A\u2028\u2029\u202F\u205F\u3000\xAD\u034F\u061C\u115F\u1160\u17B4\u17B5\u180B-\u180F\u200B-\u200F\u2060-\u206F\u3164\uFE00-\uFE0F\uFEFF\uFFA0\u202A-\u202E\u2066-\u2069])?[\t\n\x0B\x0C\r \x85\xA0\u1680\u2000-\u200A\u2028\u2029\u202F\u205F\u3000]*$";

/// Whether a field may be `null` (an `Option` the client may leave out).
#[derive(Clone, Copy)]
enum Nullable {
    No,
    Yes,
}

/// A free-text string of 1 to `max_chars` characters.
fn free_text(max_chars: usize, nullable: Nullable) -> ObjectBuilder {
    let schema_type = match nullable {
        Nullable::No => SchemaType::Type(Type::String),
        Nullable::Yes => SchemaType::from_iter([Type::String, Type::Null]),
    };
    ObjectBuilder::new()
        .schema_type(schema_type)
        .min_length(Some(1))
        .max_length(Some(max_chars))
        .pattern(Some(FREE_TEXT_PATTERN))
}

/// `example` (singular) as the derived schemas write it.
#[allow(deprecated)]
fn with_example(schema: ObjectBuilder, example: &str) -> ObjectBuilder {
    schema.example(Some(example.into()))
}

pub(super) fn employer_name() -> Object {
    free_text(limits::NAME_CHARS, Nullable::No)
        .description(Some("Registered business name, in Khmer or Latin script."))
        .build()
}

pub(super) fn contact_name() -> Object {
    free_text(limits::NAME_CHARS, Nullable::Yes).build()
}

pub(super) fn employer_external_id() -> Object {
    free_text(limits::EXTERNAL_ID_CHARS, Nullable::Yes)
        .description(Some(
            "The employer's id in the sending system; unique per API key.",
        ))
        .build()
}

/// A vacancy's or a worker's `external_id`.
pub(super) fn external_id() -> Object {
    free_text(limits::EXTERNAL_ID_CHARS, Nullable::Yes).build()
}

pub(super) fn vacancy_title() -> Object {
    with_example(
        free_text(limits::TITLE_CHARS, Nullable::No),
        "Sewing machine operators (20 positions)",
    )
    .build()
}

pub(super) fn vacancy_description() -> Object {
    free_text(limits::DESCRIPTION_CHARS, Nullable::Yes).build()
}

pub(super) fn full_name() -> Object {
    with_example(free_text(limits::NAME_CHARS, Nullable::No), "សុខ ចាន់ធី").build()
}
