//! What each slice of the template owns: its files, its direct dependencies and its settings.
//!
//! This is the one table the harness checks renders against. When the template gains a file or a
//! dependency, add it here (and nowhere else).

/// The slices, in the order used for combination labels and bit strings.
pub const SLICES: [&str; 12] = [
    "config",
    "logging",
    "shutdown",
    "health",
    "database",
    "docker",
    "compose",
    "kubernetes",
    "ci",
    "metrics",
    "otel",
    "catalog",
];

/// Files every render has, whatever the slices.
pub const ALWAYS_FILES: &[&str] = &[
    ".gitignore",
    // Written by hooks/post.rhai: what the render was made from, for `cargo template-update`.
    ".template-answers.toml",
    "Cargo.toml",
    "README.md",
    "src/cli.rs",
    "src/config/mod.rs",
    "src/error.rs",
    "src/http.rs",
    "src/lib.rs",
    "src/main.rs",
    "src/server.rs",
    "src/startup.rs",
    "src/state.rs",
    "tests/api/helpers.rs",
    "tests/api/http.rs",
    // Written by hooks/post.rhai: a module for every other file of tests/api in the render.
    "tests/api/main.rs",
    "tests/api/server.rs",
];

/// Files (and whole folders) a slice owns: present if and only if the slice is on. A folder
/// entry ends in `/` and stands for every file under that folder in `template/`, whatever they
/// are (none, if the template has no such folder).
pub const SLICE_FILES: &[(&str, &[&str])] = &[
    (
        "config",
        &[
            ".env.example",
            "src/config/layers.rs",
            "src/config/layers/",
            "tests/config.rs",
        ],
    ),
    ("logging", &["src/logging.rs", "tests/api/logging.rs"]),
    ("shutdown", &["src/shutdown.rs", "tests/api/shutdown.rs"]),
    ("health", &["src/health.rs", "tests/api/health.rs"]),
    (
        "database",
        &[
            "src/db.rs",
            "src/notes.rs",
            "src/config/secret.rs",
            "migrations/",
            "tests/api/notes.rs",
            "tests/api/database.rs",
        ],
    ),
    ("docker", &["Dockerfile", ".dockerignore"]),
    (
        "kubernetes",
        &[
            "deploy/k8s/kustomization.yaml",
            "deploy/k8s/config.env",
            "deploy/k8s/deployment.yaml",
            "deploy/k8s/service.yaml",
            "deploy/k8s/hpa.yaml",
            "deploy/k8s/pdb.yaml",
            "deploy/k8s/networkpolicy.yaml",
        ],
    ),
    ("ci", &[".github/workflows/ci.yml", "deny.toml"]),
    ("metrics", &["src/prometheus.rs", "tests/api/prometheus.rs"]),
    ("otel", &["src/traces.rs"]),
    ("catalog", &["catalog-info.yaml"]),
    // compose owns no file alone: see COMBINED_FILES.
];

/// Files a slice replaces: present if and only if the slice is off.
pub const SLICE_OFF_FILES: &[(&str, &[&str])] = &[
    // Without the config slice, only the variables platforms set are read.
    ("config", &["src/config/platform.rs"]),
];

/// Files that depend on more than one slice: `(file, all of these on, at least one of these on)`.
pub const COMBINED_FILES: &[(&str, &[&str], &[&str])] = &[
    // PostgreSQL's readiness checks plug the database into the health probes.
    ("src/db/readiness.rs", &["database"], &["health"]),
    // The pool's gauges and acquire timeouts plug the database into the metrics.
    ("src/db/pool_metrics.rs", &["database"], &["metrics"]),
    // The subscriber and the request span, which logs and traces share.
    ("src/telemetry.rs", &[], &["logging", "otel"]),
    // compose.yaml runs the image, the database or both; with neither it is not rendered.
    ("compose.yaml", &["compose"], &["docker", "database"]),
];

/// Direct dependencies every render has, in `[dependencies]` or (test-only ones such as tower)
/// `[dev-dependencies]`. Any other name in `[dependencies]` must be in `SLICE_DEPS`.
pub const CORE_DEPS: &[&str] = &[
    "anyhow",
    "axum",
    "clap",
    "hyper",
    "hyper-util",
    "serde",
    "serde_json",
    "thiserror",
    "tokio",
    "tower",
    "tower-http",
    "tracing",
];

/// Dependencies owned by slices: each is present (in any dependency table) if and only if at
/// least one of its owning slices is on. Dev-dependencies not named here are not checked.
pub const SLICE_DEPS: &[(&str, &[&str])] = &[
    ("figment", &["config"]),
    ("dotenvy", &["config"]),
    ("toml", &["config"]),
    ("secrecy", &["database"]),
    // Traces need a subscriber too, even without log output.
    ("tracing-subscriber", &["logging", "otel"]),
    ("tracing-appender", &["logging"]),
    ("metrics", &["metrics"]),
    ("metrics-exporter-prometheus", &["metrics"]),
    ("metrics-process", &["metrics"]),
    ("opentelemetry", &["otel"]),
    ("opentelemetry-http", &["otel"]),
    ("opentelemetry-otlp", &["otel"]),
    ("opentelemetry_sdk", &["otel"]),
    ("tracing-opentelemetry", &["otel"]),
    ("sqlx", &["database"]),
    ("uuid", &["database"]),
];

/// Every setting the service has (template/src/config/mod.rs), as the dotted key `config` prints
/// and a TOML file uses, with the slices that must all be on for the render to have it. The
/// environment variable of a key is `<P>` + the key upper-cased with `.` as `__`
/// (`http.body_limit_bytes` is `<P>HTTP__BODY_LIMIT_BYTES`), and `<P>…_FILE` reads it from a
/// file; those variables exist only with the config slice (without it the service reads the
/// platform's `PORT` and `DATABASE_URL` and keeps the defaults).
pub const CONFIG_KEYS: &[(&str, &[&str])] = &[
    ("host", &[]),
    ("port", &[]),
    ("http.request_timeout_secs", &[]),
    ("http.header_read_timeout_secs", &[]),
    ("http.body_limit_bytes", &[]),
    ("http.cors_allowed_origins", &[]),
    ("logging.format", &["logging"]),
    ("shutdown.drain_delay_secs", &["shutdown"]),
    ("shutdown.timeout_secs", &["shutdown"]),
    ("database.url", &["database"]),
    // Replaces the password in the URL; only config can set it (from a secret file).
    ("database.password", &["config", "database"]),
    ("database.max_connections", &["database"]),
    ("database.acquire_timeout_ms", &["database"]),
    ("database.statement_timeout_ms", &["database"]),
    ("database.migrate_on_start", &["database"]),
    ("metrics.port", &["metrics"]),
];

/// Dotted names in the docs that are not settings although they start like one: the
/// OpenTelemetry attributes of HTTP spans.
pub const NON_KEY_NAMES: &[&str] = &[
    "http.request.method",
    "http.route",
    "http.response.status_code",
];

/// Variables after `<P>` that are not settings: the config file's path.
pub const NON_KEY_VARIABLES: &[&str] = &["CONFIG_PATH"];

/// The keys of a render whose slices are `is_on`.
pub fn config_keys(is_on: &dyn Fn(&str) -> bool) -> Vec<&'static str> {
    CONFIG_KEYS
        .iter()
        .filter(|(_, slices)| slices.iter().all(|s| is_on(s)))
        .map(|(key, _)| *key)
        .collect()
}
