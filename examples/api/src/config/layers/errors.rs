//! Config errors in words: `key: what is wrong (from where)`. Values are never shown: neither
//! figment's `Debug` output nor its messages are used, as both quote the value, which may be a
//! secret given under the wrong key.

use figment::error::{Actual, Kind};

/// Every problem figment found, as one error.
pub fn described(error: figment::Error) -> anyhow::Error {
    let problems: Vec<String> = error.into_iter().map(|error| problem(&error)).collect();
    anyhow::anyhow!("invalid configuration: {}", problems.join("; "))
}

/// One problem: `http.body_limit_bytes: expected usize, found a string (from environment
/// variable …)`.
fn problem(error: &figment::Error) -> String {
    let mut key = error.path.clone();
    // figment ends the path of an unknown field with the field itself; older releases did not.
    if let Kind::UnknownField(field, _) = &error.kind
        && key.last() != Some(field)
    {
        key.push(field.clone());
    }
    // The metadata of the provider the value came from (see `sources`) names its source.
    let source = error.metadata.as_ref().map_or_else(
        || "the defaults".to_owned(),
        |metadata| {
            let profile = error.profile.clone().unwrap_or_default();
            metadata.interpolate(&profile, &key)
        },
    );
    let what = what_is_wrong(&error.kind);
    match key.join(".") {
        key if key.is_empty() => format!("{what} (from {source})"),
        key => format!("{key}: {what} (from {source})"),
    }
}

/// What is wrong, in words that name the expected type and never the value.
fn what_is_wrong(kind: &Kind) -> String {
    match kind {
        Kind::InvalidType(actual, expected) | Kind::InvalidValue(actual, expected) => {
            format!(
                "expected {}, found {}",
                expected_type(expected),
                found(actual)
            )
        }
        Kind::InvalidLength(_, expected) => format!("expected {expected}"),
        Kind::UnknownVariant(_, expected) => format!("expected one of {}", expected.join(", ")),
        Kind::UnknownField(_, _) => "not a setting".to_owned(),
        Kind::MissingField(field) => format!("`{field}` is missing"),
        Kind::DuplicateField(field) => format!("`{field}` is given twice"),
        Kind::ISizeOutOfRange(_) | Kind::USizeOutOfRange(_) => "number out of range".to_owned(),
        Kind::Unsupported(actual) | Kind::UnsupportedKey(actual, _) => {
            format!("{} is not supported here", found(actual))
        }
        // Messages from the providers in `sources` and from parsers of types like IP addresses,
        // which describe the problem, not the value.
        Kind::Message(message) => message.clone(),
    }
}

/// serde's name for what it expected, with sections (structs) in the words of this config.
fn expected_type(expected: &str) -> String {
    if expected.starts_with("struct ") {
        "a section of settings (set its keys one by one)".to_owned()
    } else {
        expected.to_owned()
    }
}

/// The kind of a value that was found, without the value.
fn found(actual: &Actual) -> &'static str {
    match actual {
        Actual::Bool(_) => "a boolean",
        Actual::Unsigned(_) | Actual::Signed(_) => "an integer",
        Actual::Float(_) => "a decimal number",
        Actual::Char(_) | Actual::Str(_) => "a string",
        Actual::Bytes(_) => "bytes",
        Actual::Unit | Actual::Option => "nothing",
        Actual::Seq => "a list",
        Actual::Map | Actual::NewtypeStruct | Actual::StructVariant => "a section",
        _ => "a value of another type",
    }
}
