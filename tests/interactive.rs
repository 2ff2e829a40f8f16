//! Drives the real cargo-generate through a pseudo-terminal, as a person would: no `--name`, no
//! `--silent`, every prompt answered by typing. Checks that a bad name is asked again, that a
//! name is converted as cargo-generate converts `--name`, and that the answers end up in the
//! render.

use std::path::Path;
use std::time::Duration;

use rexpect::ReadUntil;
use rexpect::reader::Options;
use rexpect::session::PtySession;
use template_harness::combos::{Combo, file_set_problems};
use template_harness::command::strip_ansi;
use template_harness::files::new_temp_dir;
use template_harness::render::{CargoGenerate, Generate, template_dir};

/// What to type at a placeholder's prompt.
enum Answer {
    Text(&'static str),
    Bool(bool),
}

/// The placeholders' prompts, read from template/cargo-generate.toml so the test follows them:
/// `[placeholders]`, and those asked only when a condition holds (`[conditional.'…'.placeholders]`;
/// [`ANSWERS`] makes every such condition true).
fn prompts() -> Vec<(String, String)> {
    let text = std::fs::read_to_string(template_dir().join("cargo-generate.toml"))
        .expect("read template/cargo-generate.toml");
    let config: toml::Table = text.parse().expect("template/cargo-generate.toml parses");
    let conditional = config["conditional"]
        .as_table()
        .expect("[conditional]")
        .values()
        .filter_map(|condition| condition.get("placeholders"));
    std::iter::once(&config["placeholders"])
        .chain(conditional)
        .flat_map(|table| table.as_table().expect("a table of placeholders"))
        .map(|(key, slot)| {
            let prompt = slot["prompt"].as_str().expect("prompt is a string");
            // The start of the prompt is enough to recognise it, and stays on one line.
            (key.clone(), prompt.chars().take(24).collect())
        })
        .collect()
}

/// Lets the prompt finish drawing before typing (the terminal's input is read in raw mode).
fn settle() {
    std::thread::sleep(Duration::from_millis(300));
}

/// A bool placeholder's default, from template/cargo-generate.toml.
fn bool_default(key: &str) -> bool {
    let text = std::fs::read_to_string(template_dir().join("cargo-generate.toml"))
        .expect("read template/cargo-generate.toml");
    let config: toml::Table = text.parse().expect("template/cargo-generate.toml parses");
    config["placeholders"][key]["default"]
        .as_bool()
        .unwrap_or_else(|| panic!("placeholder `{key}` has a bool default"))
}

fn type_answer(session: &mut PtySession, tool: CargoGenerate, key: &str, answer: &Answer) {
    settle();
    match answer {
        Answer::Text(text) => {
            session.send(&format!("{text}\r")).expect("type answer");
        }
        // From 0.24 on a yes/no prompt takes `y` or `n`, without Enter.
        Answer::Bool(wanted) if tool == CargoGenerate::Newest => {
            session
                .send(if *wanted { "y" } else { "n" })
                .expect("type y or n");
        }
        // In 0.23 a yes/no prompt is a list [false, true] with the cursor on the default.
        Answer::Bool(wanted) => {
            let default = bool_default(key);
            if *wanted != default {
                let arrow = if default { "\x1b[A" } else { "\x1b[B" };
                session.send(arrow).expect("press an arrow key");
                settle();
            }
            session.send("\r").expect("press enter");
        }
    }
    session.flush().expect("flush terminal");
}

/// Waits for `needle`, keeping what the terminal showed in `transcript`.
fn expect(session: &mut PtySession, needle: &str, transcript: &mut String) {
    match session.exp_string(needle) {
        Ok(before) => {
            transcript.push_str(&before);
            transcript.push_str(needle);
        }
        Err(e) => panic!(
            "waiting for `{needle}`: {e}\n--- terminal so far ---\n{}",
            strip_ansi(transcript)
        ),
    }
}

#[test]
fn prompts_are_answered_through_a_terminal() {
    for tool in CargoGenerate::all() {
        answer_every_prompt(tool);
        eprintln!(
            "[interactive] cargo-generate {}: every prompt answered",
            tool.version()
        );
    }
}

/// What the test types at each placeholder's prompt.
const ANSWERS: [(&str, Answer); 19] = [
    ("description", Answer::Text("Rendered through a terminal")),
    ("port", Answer::Text("9191")),
    ("env_prefix", Answer::Text("")),
    ("config", Answer::Bool(true)),
    ("logging", Answer::Bool(false)),
    ("shutdown", Answer::Bool(true)),
    ("health", Answer::Bool(true)),
    ("database", Answer::Bool(false)),
    ("docker", Answer::Bool(true)),
    ("compose", Answer::Bool(false)),
    ("kubernetes", Answer::Bool(true)),
    ("ci", Answer::Bool(false)),
    ("metrics", Answer::Bool(true)),
    ("otel", Answer::Bool(false)),
    ("catalog", Answer::Bool(true)),
    // Asked because catalog is on.
    ("catalog_owner", Answer::Text("group:default/terminal-team")),
    ("catalog_system", Answer::Text("terminals")),
    ("catalog_lifecycle", Answer::Text("production")),
    ("github_org", Answer::Text("pty-org")),
];

/// The slices [`ANSWERS`] turn on, in the order of `SLICES`.
const ANSWERED_SLICES: &str = "101101010101";

fn answer_every_prompt(tool: CargoGenerate) {
    let prompts = prompts();
    for (key, _) in &prompts {
        assert!(
            ANSWERS.iter().any(|(k, _)| k == key),
            "the test has no answer for the new placeholder `{key}`"
        );
    }
    let workspace = new_temp_dir("template-interactive-");
    let mut cmd = Generate::interactive().tool(tool).command(workspace.path());
    cmd.env("TERM", "xterm")
        .env("COLUMNS", "200")
        .env("LINES", "50");
    let mut session = rexpect::spawn_with_options(
        cmd,
        Options::new()
            .timeout_ms(Some(60_000))
            .strip_ansi_escape_codes(true),
    )
    .expect("start cargo-generate in a pseudo-terminal");
    let mut transcript = String::new();

    the_name_is_asked_until_usable(&mut session, tool, &mut transcript);
    answer_the_placeholders(&mut session, tool, prompts, &mut transcript);
    let transcript = finished_with_done(&mut session, transcript);
    the_render_holds_the_answers(
        &workspace.path().join("out").join("pty-service"),
        &transcript,
    );
}

/// The name, asked by hooks/init.rhai, is asked again while it is unusable, and converted the
/// way cargo-generate converts `--name`: the project is `pty-service`.
fn the_name_is_asked_until_usable(
    session: &mut PtySession,
    tool: CargoGenerate,
    transcript: &mut String,
) {
    expect(session, "Project name", transcript);
    type_answer(session, tool, "project-name", &Answer::Text("1bad"));
    expect(session, "starts with a digit", transcript);
    expect(session, "Project name", transcript);
    type_answer(session, tool, "project-name", &Answer::Text("Pty_Service"));
    expect(
        session,
        "Project name: pty-service (crate pty_service), made from 'Pty_Service'",
        transcript,
    );
}

/// Answers the placeholders' prompts, in whatever order cargo-generate asks them.
fn answer_the_placeholders(
    session: &mut PtySession,
    tool: CargoGenerate,
    mut pending: Vec<(String, String)>,
    transcript: &mut String,
) {
    while !pending.is_empty() {
        let needles = pending
            .iter()
            .map(|(_, p)| ReadUntil::String(p.clone()))
            .collect();
        let (before, matched) = session.exp_any(needles).unwrap_or_else(|e| {
            panic!(
                "waiting for one of {:?}: {e}\n--- terminal so far ---\n{}",
                pending.iter().map(|(k, _)| k).collect::<Vec<_>>(),
                strip_ansi(transcript)
            )
        });
        transcript.push_str(&before);
        transcript.push_str(&matched);
        let index = pending
            .iter()
            .position(|(_, p)| *p == matched)
            .expect("matched a prompt");
        let (key, _) = pending.remove(index);
        let (_, answer) = ANSWERS
            .iter()
            .find(|(k, _)| *k == key)
            .expect("answer exists");
        type_answer(session, tool, &key, answer);
    }
}

/// cargo-generate runs to its end, exits 0 and says `Done!`. Returns the whole transcript.
fn finished_with_done(session: &mut PtySession, mut transcript: String) -> String {
    let rest = session.exp_eof().unwrap_or_else(|e| {
        panic!("cargo-generate did not finish: {e}\n--- terminal so far ---\n{transcript}")
    });
    transcript.push_str(&rest);
    let status = session.process().wait().expect("wait for cargo-generate");
    let transcript = strip_ansi(&transcript);
    assert!(
        format!("{status:?}").starts_with("Exited(") && format!("{status:?}").ends_with(", 0)"),
        "cargo-generate ended with {status:?}\n--- terminal ---\n{transcript}"
    );
    assert!(transcript.contains("Done!"), "no `Done!`:\n{transcript}");
    transcript
}

/// The render in `dir` has the files of the slices answered, the port typed, the env prefix
/// derived from the name and the description.
fn the_render_holds_the_answers(dir: &Path, transcript: &str) {
    assert!(
        dir.is_dir(),
        "{} is missing\n--- terminal ---\n{transcript}",
        dir.display()
    );
    let combo = Combo::from_bits(ANSWERED_SLICES);
    let problems = file_set_problems(dir, combo);
    assert!(
        problems.is_empty(),
        "{}:\n{}",
        combo.label(),
        problems.join("\n")
    );
    let read = |file: &str| {
        std::fs::read_to_string(dir.join(file))
            .unwrap_or_else(|error| panic!("read {file}: {error}"))
    };
    assert!(
        read("src/config/mod.rs").contains("9191"),
        "the port typed is not in src/config/mod.rs"
    );
    assert!(
        read("src/config/layers.rs").contains("PTY_SERVICE_"),
        "the derived env prefix is not in src/config/layers.rs"
    );
    assert!(
        read("Cargo.toml").contains("Rendered through a terminal"),
        "the description is not in Cargo.toml"
    );
    let catalog = read("catalog-info.yaml");
    for typed in [
        "owner: group:default/terminal-team",
        "system: terminals",
        "lifecycle: production",
        "github.com/project-slug: pty-org/pty-service",
    ] {
        assert!(
            catalog.contains(typed),
            "`{typed}` is not in catalog-info.yaml:\n{catalog}"
        );
    }
}
