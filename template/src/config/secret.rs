//! How secret settings are read and printed: `#[serde(with = "secret")]` on an
//! `Option<SecretString>` field.

use secrecy::SecretString;
use serde::de::{Deserializer, Visitor};
use serde::ser::Serializer;

/// Reads a secret whatever it looks like: a TOML file may give `1234`, which arrives as a
/// number, and serde's type error would quote it.
pub fn deserialize<'de, D: Deserializer<'de>>(
    deserializer: D,
) -> Result<Option<SecretString>, D::Error> {
    let text = deserializer.deserialize_any(AnyScalarAsText)?;
    Ok(Some(SecretString::from(text)))
}

/// Prints a secret as `[REDACTED]`.
pub fn serialize<S: Serializer>(
    value: &Option<SecretString>,
    serializer: S,
) -> Result<S::Ok, S::Error> {
    match value {
        Some(_) => serializer.serialize_str("[REDACTED]"),
        None => serializer.serialize_none(),
    }
}

/// Takes a string, a number or a boolean as the text it was written as.
struct AnyScalarAsText;

impl Visitor<'_> for AnyScalarAsText {
    type Value = String;

    fn expecting(&self, formatter: &mut std::fmt::Formatter) -> std::fmt::Result {
        formatter.write_str("a string")
    }

    fn visit_str<E>(self, value: &str) -> Result<String, E> {
        Ok(value.to_owned())
    }

    fn visit_i64<E>(self, value: i64) -> Result<String, E> {
        Ok(value.to_string())
    }

    fn visit_u64<E>(self, value: u64) -> Result<String, E> {
        Ok(value.to_string())
    }

    fn visit_f64<E>(self, value: f64) -> Result<String, E> {
        Ok(value.to_string())
    }

    fn visit_bool<E>(self, value: bool) -> Result<String, E> {
        Ok(value.to_string())
    }
}
