//! PostgreSQL for the tests: the server DATABASE_URL names, `psql` one-shots and sessions held
//! open, and databases of a test's own.

use std::fmt;
use std::io::{BufRead, BufReader, Write};
use std::process::{ChildStdin, Command, Stdio};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError};
use std::thread;
use std::time::Duration;

use crate::command::KillOnDrop;
use crate::random::random_hex;
use crate::wait::poll_until;

/// How to reach PostgreSQL for renders with the database slice.
pub const DATABASE_URL_HELP: &str = "DATABASE_URL is not set, and renders with the database slice \
    need a PostgreSQL server for their tests. Start one and export it, e.g. \
    `export DATABASE_URL=postgres://postgres:postgres@127.0.0.1:5432/postgres` \
    (the role needs CREATEDB: #[sqlx::test] makes a database per test), or run `bash .ci/run`, \
    which starts Debian's PostgreSQL and sets it.";

/// DATABASE_URL, or a failed test saying how to provide it.
pub fn postgres_url() -> String {
    match std::env::var("DATABASE_URL") {
        Ok(url) if !url.trim().is_empty() => url,
        _ => panic!("{DATABASE_URL_HELP}"),
    }
}

/// The parts of a `postgres://` URL the tests change.
#[derive(Clone, Debug)]
pub struct PgUrl {
    pub user: String,
    pub password: Option<String>,
    pub host: String,
    pub port: u16,
    pub database: String,
    /// `?...` or empty.
    pub query: String,
}

impl PgUrl {
    pub fn parse(url: &str) -> Self {
        let rest = url
            .strip_prefix("postgres://")
            .or_else(|| url.strip_prefix("postgresql://"))
            .unwrap_or_else(|| panic!("DATABASE_URL must start with postgres://: {url}"));
        let (rest, query) = match rest.find('?') {
            Some(at) => (&rest[..at], rest[at..].to_owned()),
            None => (rest, String::new()),
        };
        let (authority, database) = rest.split_once('/').unwrap_or((rest, "postgres"));
        let (userinfo, hostport) = authority
            .rsplit_once('@')
            .unwrap_or(("postgres", authority));
        let (user, password) = match userinfo.split_once(':') {
            Some((user, password)) => (user.to_owned(), Some(password.to_owned())),
            None => (userinfo.to_owned(), None),
        };
        let (host, port) = match hostport.rsplit_once(':') {
            Some((host, port)) => (
                host.to_owned(),
                port.parse().expect("DATABASE_URL has a numeric port"),
            ),
            None => (hostport.to_owned(), 5432),
        };
        Self {
            user,
            password,
            host,
            port,
            database: database.to_owned(),
            query,
        }
    }
}

impl fmt::Display for PgUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "postgres://{}", self.user)?;
        if let Some(password) = &self.password {
            write!(f, ":{password}")?;
        }
        write!(
            f,
            "@{}:{}/{}{}",
            self.host, self.port, self.database, self.query
        )
    }
}

/// Runs `sql` with `psql` against `url`; its output, unaligned and without headers.
pub fn psql_at(url: &str, sql: &str) -> Result<String, String> {
    let output = Command::new("psql")
        .arg(url)
        .args(["-v", "ON_ERROR_STOP=1", "-qAtX", "-c", sql])
        .env("PGCONNECT_TIMEOUT", "10")
        .output()
        .map_err(|e| format!("cannot run psql: {e}"))?;
    if output.status.success() {
        Ok(String::from_utf8_lossy(&output.stdout).trim().to_owned())
    } else {
        Err(format!(
            "psql failed for `{sql}`: {}",
            String::from_utf8_lossy(&output.stderr).trim()
        ))
    }
}

/// Runs `sql` against DATABASE_URL, failing the test if it fails.
pub fn psql(sql: &str) -> String {
    psql_at(&postgres_url(), sql).unwrap_or_else(|e| panic!("{e}"))
}

/// The names of the non-template databases on DATABASE_URL's server, sorted.
pub fn database_names() -> Vec<String> {
    let mut names: Vec<String> =
        psql("SELECT datname FROM pg_database WHERE NOT datistemplate ORDER BY datname")
            .lines()
            .map(str::to_owned)
            .collect();
    names.sort();
    names
}

/// A database of this test's own, dropped (with its role, if it has one) afterwards.
pub struct TempDb {
    pub name: String,
    pub role: Option<String>,
    /// Reaches the database as its owner; without a password for a role of its own.
    pub url: PgUrl,
}

impl TempDb {
    /// A new database owned by DATABASE_URL's role, named `<prefix>_<random>`.
    pub fn new(prefix: &str) -> Self {
        let name = format!("{prefix}_{}", random_hex());
        psql(&format!("CREATE DATABASE {name}"));
        let mut url = PgUrl::parse(&postgres_url());
        url.database = name.clone();
        Self {
            name,
            role: None,
            url,
        }
    }

    /// A new login role with `password` and a new database it owns; `url` has no password.
    pub fn with_role(prefix: &str, password: &str) -> Self {
        let suffix = random_hex();
        let role = format!("{prefix}_role_{suffix}");
        let name = format!("{prefix}_{suffix}");
        psql(&format!("CREATE ROLE {role} LOGIN PASSWORD '{password}'"));
        let db = Self {
            name: name.clone(),
            role: Some(role.clone()),
            url: PgUrl {
                user: role.clone(),
                password: None,
                database: name.clone(),
                ..PgUrl::parse(&postgres_url())
            },
        };
        psql(&format!("CREATE DATABASE {name} OWNER {role}"));
        db
    }

    pub fn url(&self) -> String {
        self.url.to_string()
    }

    /// Runs `sql` in this database, failing the test if it fails.
    pub fn psql(&self, sql: &str) -> String {
        psql_at(&self.url(), sql).unwrap_or_else(|e| panic!("{e}"))
    }

    /// How many sessions in this database wait for a lock right now.
    pub fn sessions_waiting_for_a_lock(&self) -> usize {
        psql(&format!(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = '{}' AND wait_event_type = 'Lock'",
            self.name
        ))
        .parse()
        .expect("a count")
    }

    /// Waits up to `timeout` until some session in this database waits for a lock; how long
    /// that took, or `None`.
    pub fn wait_for_a_blocked_session(&self, timeout: Duration) -> Option<Duration> {
        poll_until(timeout, Duration::from_millis(20), || {
            self.sessions_waiting_for_a_lock() > 0
        })
    }

    /// Holds `LOCK TABLE <table> IN ACCESS EXCLUSIVE MODE` in an open transaction until the
    /// returned session is dropped.
    pub fn lock_table(&self, table: &str) -> PsqlSession {
        let mut session = PsqlSession::open(&self.url());
        session.run(&format!(
            "BEGIN; LOCK TABLE {table} IN ACCESS EXCLUSIVE MODE;"
        ));
        session
    }
}

impl Drop for TempDb {
    fn drop(&mut self) {
        let url = postgres_url();
        let _ = psql_at(
            &url,
            &format!("DROP DATABASE IF EXISTS {} WITH (FORCE)", self.name),
        );
        if let Some(role) = &self.role {
            let _ = psql_at(&url, &format!("DROP ROLE IF EXISTS {role}"));
        }
    }
}

/// A master database for a render's `#[sqlx::test]`s, so that what those tests leave on the
/// server can be told apart from what any other client does there meanwhile.
///
/// sqlx 0.9 records each database it makes for a test in `_sqlx_test.databases` (`db_name`,
/// `test_path`, `created_at`) of the database `DATABASE_URL` names, before it creates it, and
/// deletes the record when it drops the database after the test passed; a test that fails (or
/// is killed) keeps both. The names are `_sqlx_test_` and a hash of the test's path, the same
/// in every run. Run with a master database of their own ([`SqlxTestDatabases::database_url`]),
/// a render's tests record in a table nobody else writes to, so the databases it lists that
/// still exist are exactly the ones those tests left behind.
pub struct SqlxTestDatabases {
    master: TempDb,
}

impl SqlxTestDatabases {
    /// A new, empty master database named `<prefix>_<random>`.
    pub fn new(prefix: &str) -> Self {
        Self {
            master: TempDb::new(prefix),
        }
    }

    /// The `DATABASE_URL` to run the render's tests with: the same server and role, the
    /// master database of their own.
    pub fn database_url(&self) -> String {
        self.master.url()
    }

    pub fn master_name(&self) -> &str {
        &self.master.name
    }

    /// The test databases sqlx recorded in this master that still exist on the server, sorted.
    pub fn left_behind(&self) -> Vec<String> {
        let recorded = self
            .master
            .psql("SELECT to_regclass('_sqlx_test.databases') IS NOT NULL");
        if recorded != "t" {
            // No `#[sqlx::test]` ran against this master.
            return Vec::new();
        }
        self.master
            .psql(
                "SELECT db_name FROM _sqlx_test.databases AS recorded WHERE EXISTS \
                 (SELECT 1 FROM pg_database WHERE datname = recorded.db_name) ORDER BY db_name",
            )
            .lines()
            .map(str::to_owned)
            .collect()
    }
}

/// Drops the database `name` on DATABASE_URL's server, whoever is connected to it.
pub fn drop_database(name: &str) {
    psql(&format!("DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)"));
}

/// A `psql` session kept open, fed statements on its stdin: a transaction that holds a lock
/// while the test does something else. Killed when dropped, which ends the transaction.
pub struct PsqlSession {
    /// Held for its drop: killing psql ends the transaction.
    _child: KillOnDrop,
    stdin: Option<ChildStdin>,
    lines: Receiver<String>,
}

impl PsqlSession {
    pub fn open(url: &str) -> Self {
        let mut child = KillOnDrop(
            Command::new("psql")
                .arg(url)
                .args(["-v", "ON_ERROR_STOP=1", "-qAtX"])
                .env("PGCONNECT_TIMEOUT", "10")
                .stdin(Stdio::piped())
                .stdout(Stdio::piped())
                .stderr(Stdio::piped())
                .spawn()
                .unwrap_or_else(|e| panic!("cannot run psql: {e}")),
        );
        let stdin = child.stdin.take();
        let (sender, lines) = mpsc::channel();
        for pipe in [
            Box::new(child.stdout.take().expect("piped stdout")) as Box<dyn std::io::Read + Send>,
            Box::new(child.stderr.take().expect("piped stderr")),
        ] {
            let sender = sender.clone();
            thread::spawn(move || {
                for line in BufReader::new(pipe).lines() {
                    let Ok(line) = line else { break };
                    if sender.send(line).is_err() {
                        break;
                    }
                }
            });
        }
        Self {
            _child: child,
            stdin,
            lines,
        }
    }

    /// Sends `sql` (statements ending in `;`), then waits until `SELECT '<marker>'` after it
    /// prints, so everything before it has run. Fails the test on anything else printed.
    pub fn run(&mut self, sql: &str) {
        let marker = format!("done-{}", random_hex());
        let stdin = self.stdin.as_mut().expect("the session is open");
        writeln!(stdin, "{sql}\nSELECT '{marker}';").expect("write to psql");
        stdin.flush().expect("flush psql's stdin");
        match self.lines.recv_timeout(Duration::from_secs(10)) {
            Ok(line) if line == marker => {}
            Ok(line) => panic!("psql session: unexpected output running `{sql}`: {line}"),
            Err(RecvTimeoutError::Timeout) => {
                panic!("psql session: `{sql}` did not finish within 10 s")
            }
            Err(RecvTimeoutError::Disconnected) => panic!("psql session ended running `{sql}`"),
        }
    }
}
