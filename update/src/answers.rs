//! `.template-answers.toml`: what a service was rendered from. The one place that knows the
//! file's format on the Rust side; the template's post hook (`hooks/answers.rhai`) writes it.
//!
//! ```toml
//! [template]
//! version = "0.10.0"          # the template's version at the render
//! name = "orders-api"         # the project name given to cargo-generate
//! source = ""                 # the template's git URL, once known
//! revision = ""               # the template commit, once an update has recorded it
//!
//! [values]                    # every answer, as `cargo generate --values-file` reads them
//! description = "Orders"
//! database = true
//! ```
//!
//! It is read and written with `toml_edit`, so the user's comments and layout survive an update.

use std::collections::BTreeMap;
use std::fmt;
use std::path::Path;
use std::str::FromStr;

use anyhow::{Context, bail};
use toml_edit::{DocumentMut, Item, Table, Value};

/// The answers file's name, at the service's root.
pub const FILE_NAME: &str = ".template-answers.toml";

/// One answer: a placeholder of type `bool` or `string`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Answer {
    Bool(bool),
    Text(String),
}

impl fmt::Display for Answer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Bool(value) => write!(f, "{value}"),
            Self::Text(text) => write!(f, "{text:?}"),
        }
    }
}

/// Every answer, by placeholder name.
pub type Values = BTreeMap<String, Answer>;

/// A parsed answers file, with the document it came from (kept for writing it back).
#[derive(Clone, Debug)]
pub struct Answers {
    doc: DocumentMut,
    version: String,
    name: String,
    source: String,
    revision: String,
    values: Values,
}

impl Answers {
    /// Reads the answers file in `dir`.
    pub fn read(dir: &Path) -> anyhow::Result<Self> {
        let text = std::fs::read_to_string(dir.join(FILE_NAME)).with_context(|| {
            format!(
                "no {FILE_NAME} in {}: run this at the root of a service rendered from the \
                 template (renders since version 0.9.0 have it)",
                dir.display()
            )
        })?;
        Self::parse(&text)
    }

    pub fn parse(text: &str) -> anyhow::Result<Self> {
        let doc: DocumentMut = text
            .parse()
            .with_context(|| format!("{FILE_NAME} is not valid TOML"))?;
        let template = doc
            .get("template")
            .and_then(Item::as_table_like)
            .with_context(|| format!("{FILE_NAME} has no [template] table"))?;
        let field = |key: &str| -> anyhow::Result<String> {
            template
                .get(key)
                .and_then(Item::as_str)
                .map(str::to_owned)
                .with_context(|| format!("{FILE_NAME}: template.{key} is missing or not a string"))
        };
        let (version, name, source, revision) = (
            field("version")?,
            field("name")?,
            field("source")?,
            field("revision")?,
        );
        let values = parse_values(&doc)?;
        Ok(Self {
            doc,
            version,
            name,
            source,
            revision,
            values,
        })
    }

    pub fn version(&self) -> &str {
        &self.version
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    pub fn source(&self) -> &str {
        &self.source
    }

    pub fn revision(&self) -> &str {
        &self.revision
    }

    pub fn values(&self) -> &Values {
        &self.values
    }

    pub fn set_source(&mut self, source: &str) {
        set_text(&mut self.doc["template"]["source"], source);
        self.source = source.to_owned();
    }

    pub fn set_revision(&mut self, revision: &str) {
        set_text(&mut self.doc["template"]["revision"], revision);
        self.revision = revision.to_owned();
    }

    /// Takes the version and the values of another render's answers (the new render of an
    /// update), keeping this file's layout and comments: changed values are replaced in place,
    /// new ones appended, ones the render no longer has removed.
    pub fn take_render(&mut self, rendered: &Answers) {
        set_text(&mut self.doc["template"]["version"], &rendered.version);
        self.version = rendered.version.clone();
        let table = self.doc["values"]
            .as_table_mut()
            .expect("parse() checked that [values] is a table");
        table.retain(|key, _| rendered.values.contains_key(key));
        for (key, answer) in &rendered.values {
            if self.values.get(key) != Some(answer) {
                let item = table.entry(key).or_insert(Item::None);
                set_value(item, to_value(answer));
            }
        }
        self.values = rendered.values.clone();
    }

    /// The file's text.
    pub fn text(&self) -> String {
        self.doc.to_string()
    }
}

fn parse_values(doc: &DocumentMut) -> anyhow::Result<Values> {
    let table = doc
        .get("values")
        .and_then(Item::as_table)
        .with_context(|| format!("{FILE_NAME} has no [values] table"))?;
    let mut values = Values::new();
    for (key, item) in table.iter() {
        let answer = match item.as_value() {
            Some(Value::Boolean(value)) => Answer::Bool(*value.value()),
            Some(Value::String(text)) => Answer::Text(text.value().clone()),
            _ => bail!("{FILE_NAME}: values.{key} is neither true/false nor a string"),
        };
        values.insert(key.to_owned(), answer);
    }
    Ok(values)
}

fn to_value(answer: &Answer) -> Value {
    match answer {
        Answer::Bool(value) => Value::from(*value),
        Answer::Text(text) => Value::from(text.as_str()),
    }
}

/// Replaces the value in `item`, keeping the comment and spacing around it.
fn set_value(item: &mut Item, mut value: Value) {
    if let Some(old) = item.as_value() {
        *value.decor_mut() = old.decor().clone();
    }
    *item = Item::Value(value);
}

fn set_text(item: &mut Item, text: &str) {
    set_value(item, Value::from(text));
}

/// A values file for `cargo generate --values-file`: the `[values]` table.
pub fn values_file(values: &Values) -> String {
    let mut table = Table::new();
    for (key, answer) in values {
        table.insert(key, Item::Value(to_value(answer)));
    }
    let mut doc = DocumentMut::new();
    doc.insert("values", Item::Table(table));
    doc.to_string()
}

/// `-d KEY=VALUE`: an answer to change.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Define {
    pub key: String,
    pub value: String,
}

impl FromStr for Define {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        match text.split_once('=') {
            Some((key, value)) if !key.trim().is_empty() => Ok(Self {
                key: key.trim().to_owned(),
                value: value.to_owned(),
            }),
            _ => Err(format!("expected KEY=VALUE, got `{text}`")),
        }
    }
}

impl fmt::Display for Define {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}={}", self.key, self.value)
    }
}

/// The type of a placeholder the template declares.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    Bool,
    Text,
}

/// The placeholders a template revision declares (`[placeholders.NAME] type = …` in
/// `template/cargo-generate.toml`, and `[conditional.'EXPR'.placeholders.NAME]`, asked only when
/// the condition holds), by name.
pub type Placeholders = BTreeMap<String, Kind>;

/// The placeholders in the text of a `cargo-generate.toml`.
pub fn placeholders(config: &str) -> anyhow::Result<Placeholders> {
    let doc: DocumentMut = config
        .parse()
        .context("template/cargo-generate.toml is not valid TOML")?;
    let conditional = doc
        .get("conditional")
        .and_then(Item::as_table_like)
        .into_iter()
        .flat_map(|conditions| conditions.iter())
        .filter_map(|(_, condition)| condition.get("placeholders"));
    Ok(doc
        .get("placeholders")
        .into_iter()
        .chain(conditional)
        .filter_map(Item::as_table_like)
        .flat_map(|table| table.iter())
        .map(|(name, item)| {
            let kind = match item.get("type").and_then(Item::as_str) {
                Some("bool") => Kind::Bool,
                _ => Kind::Text,
            };
            (name.to_owned(), kind)
        })
        .collect())
}

/// `values` with the `-d` changes applied. A key must be an answer the service has or a
/// placeholder of the template revision rendered next, so a typo is an error instead of a value
/// the template ignores; booleans take only `true` or `false`.
pub fn with_defines(
    values: &Values,
    defines: &[Define],
    placeholders: &Placeholders,
) -> anyhow::Result<Values> {
    let mut changed = values.clone();
    for define in defines {
        let kind = match (placeholders.get(&define.key), values.get(&define.key)) {
            (Some(kind), _) => *kind,
            (None, Some(Answer::Bool(_))) => Kind::Bool,
            (None, Some(Answer::Text(_))) => Kind::Text,
            (None, None) => {
                let mut known: Vec<&str> = values.keys().map(String::as_str).collect();
                known.extend(placeholders.keys().map(String::as_str));
                known.sort_unstable();
                known.dedup();
                bail!(
                    "-d {define}: no answer is called {} (answers: {})",
                    define.key,
                    known.join(", ")
                );
            }
        };
        let answer = match (kind, define.value.as_str()) {
            (Kind::Bool, "true") => Answer::Bool(true),
            (Kind::Bool, "false") => Answer::Bool(false),
            (Kind::Bool, _) => bail!("-d {define}: {} is true or false", define.key),
            (Kind::Text, text) => Answer::Text(text.to_owned()),
        };
        changed.insert(define.key.clone(), answer);
    }
    Ok(changed)
}

#[cfg(test)]
mod tests {
    use super::*;

    const RENDERED: &str = r#"# What this service was rendered from.

[template]
version = "0.9.0"
name = "orders"
# The template's repository.
source = ""
revision = ""

[values]
description = "Orders for O'Brien \"& Co.\""
port = "8080"
database = true
metrics = false
"#;

    fn define(text: &str) -> Define {
        text.parse().expect("a define")
    }

    #[test]
    fn parses_every_field_and_typed_values() {
        let answers = Answers::parse(RENDERED).expect("parses");
        assert_eq!(answers.version(), "0.9.0");
        assert_eq!(answers.name(), "orders");
        assert_eq!(answers.source(), "");
        assert_eq!(answers.revision(), "");
        assert_eq!(
            answers.values()["description"],
            Answer::Text("Orders for O'Brien \"& Co.\"".into())
        );
        assert_eq!(answers.values()["database"], Answer::Bool(true));
        assert_eq!(answers.values().len(), 4);
    }

    #[test]
    fn refuses_what_is_not_an_answers_file() {
        for (text, expected) in [
            ("not toml = ", "not valid TOML"),
            ("[values]\n", "no [template] table"),
            (
                "[template]\nversion = \"1\"\nname = \"x\"\nsource = \"\"\n",
                "template.revision",
            ),
            (
                "[template]\nversion = \"1\"\nname = \"x\"\nsource = \"\"\nrevision = \"\"\n",
                "no [values] table",
            ),
            (
                "[template]\nversion = \"1\"\nname = \"x\"\nsource = \"\"\nrevision = \"\"\n\
                 [values]\nport = 8080\n",
                "values.port",
            ),
        ] {
            let error = Answers::parse(text).expect_err(text).to_string();
            assert!(error.contains(expected), "{text}: {error}");
        }
    }

    #[test]
    fn writing_keeps_comments_and_layout() {
        let mut answers = Answers::parse(RENDERED).expect("parses");
        answers.set_source("https://example.com/template.git");
        answers.set_revision("0123456789abcdef");
        let text = answers.text();
        let expected = RENDERED
            .replace(
                "source = \"\"",
                "source = \"https://example.com/template.git\"",
            )
            .replace("revision = \"\"", "revision = \"0123456789abcdef\"");
        assert_eq!(text, expected);
        let again = Answers::parse(&text).expect("parses again");
        assert_eq!(again.source(), "https://example.com/template.git");
        assert_eq!(again.values(), answers.values());
    }

    #[test]
    fn taking_a_render_changes_only_what_differs() {
        let mut answers = Answers::parse(RENDERED).expect("parses");
        let newer = RENDERED
            .replace("version = \"0.9.0\"", "version = \"0.10.0\"")
            .replace("metrics = false\n", "metrics = true\notel = false\n")
            .replace("port = \"8080\"\n", "");
        let newer = Answers::parse(&newer).expect("parses");
        answers.take_render(&newer);
        let text = answers.text();
        assert!(text.starts_with("# What this service was rendered from.\n"));
        assert!(text.contains("version = \"0.10.0\""));
        assert!(text.contains("metrics = true\n"));
        assert!(text.contains("otel = false\n"));
        assert!(!text.contains("port"));
        assert_eq!(answers.values(), newer.values());
        assert_eq!(
            Answers::parse(&text).expect("parses").values(),
            newer.values()
        );
    }

    #[test]
    fn values_file_holds_the_values_table() {
        let answers = Answers::parse(RENDERED).expect("parses");
        let text = values_file(answers.values());
        let doc: DocumentMut = text.parse().expect("valid TOML");
        assert_eq!(doc["values"]["database"].as_bool(), Some(true));
        assert_eq!(
            doc["values"]["description"].as_str(),
            Some("Orders for O'Brien \"& Co.\"")
        );
    }

    #[test]
    fn defines_parse_and_print() {
        assert_eq!(
            define("kubernetes=true"),
            Define {
                key: "kubernetes".into(),
                value: "true".into()
            }
        );
        assert_eq!(define("description=a=b").value, "a=b");
        assert_eq!(define("port=").value, "");
        assert!("kubernetes".parse::<Define>().is_err());
        assert!("=true".parse::<Define>().is_err());
        assert_eq!(define("otel=true").to_string(), "otel=true");
    }

    #[test]
    fn defines_change_known_answers_with_their_type() {
        let answers = Answers::parse(RENDERED).expect("parses");
        let placeholders: Placeholders = [
            ("database".to_owned(), Kind::Bool),
            ("otel".to_owned(), Kind::Bool),
        ]
        .into();
        let changed = with_defines(
            answers.values(),
            &[
                define("database=false"),
                define("port=9090"),
                define("otel=true"),
            ],
            &placeholders,
        )
        .expect("valid defines");
        assert_eq!(changed["database"], Answer::Bool(false));
        assert_eq!(changed["port"], Answer::Text("9090".into()));
        // A placeholder of the next revision that the service's answers do not have yet.
        assert_eq!(changed["otel"], Answer::Bool(true));
        for (bad, expected) in [
            ("databse=false", "no answer is called databse"),
            ("database=yes", "database is true or false"),
        ] {
            let error = with_defines(answers.values(), &[define(bad)], &placeholders)
                .expect_err(bad)
                .to_string();
            assert!(error.contains(expected), "{bad}: {error}");
        }
    }

    #[test]
    fn placeholders_come_from_the_template_config() {
        let config = "[template]\ncargo_generate_version = \">=0.23.0\"\n\n\
                      [placeholders.port]\ntype = \"string\"\nprompt = \"Port\"\n\n\
                      [placeholders.metrics]\ntype = \"bool\"\nprompt = \"Metrics?\"\n\n\
                      [conditional.'catalog'.placeholders.catalog_owner]\n\
                      type = \"string\"\nprompt = \"Owner\"\n\n\
                      [conditional.'!catalog']\nignore = [\"catalog-info.yaml\"]\n";
        let found = placeholders(config).expect("parses");
        assert_eq!(found["port"], Kind::Text);
        assert_eq!(found["metrics"], Kind::Bool);
        assert_eq!(found["catalog_owner"], Kind::Text);
        assert_eq!(found.len(), 3);
        assert!(placeholders("[template]\n").expect("parses").is_empty());
    }
}
