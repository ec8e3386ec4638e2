//! Renderings of plans whose names, emails and other values are hostile: terminal text
//! carries no control character, and Markdown shows each value as its text, with the
//! markup, mentions and links of a plan of harmless values and nothing more.

use proptest::prelude::*;
use serde_json::{Value, json};

use super::*;
use crate::plan::{Estimate, Field, Guard, Kind, Phase};

/// Takes a string past the length at which text shows a character diff.
const TAIL: &str = " of the northern region, on weekdays and weekends";

fn change(
    action: Action,
    key: &str,
    name: Option<&str>,
    fields: Vec<(String, Value, Value)>,
) -> Change {
    Change {
        action,
        kind: if action == Action::CreateTeam {
            Kind::Team
        } else {
            Kind::User
        },
        key: key.to_string(),
        name: name.map(str::to_string),
        held: action == Action::Offboard,
        id: None,
        phase: Phase::Updates,
        fields: fields
            .into_iter()
            .map(|(k, from, to)| {
                (
                    Field::named(&k).expect("a field roster manages"),
                    FieldChange { from, to },
                )
            })
            .collect(),
        precondition: None,
        needs: None,
    }
}

fn f(name: &str, from: Value, to: Value) -> (String, Value, Value) {
    (name.to_string(), from, to)
}

/// A plan of `changes` with ordinary values everywhere else.
fn plan_of(changes: Vec<Change>) -> Plan {
    Plan {
        format_version: 1,
        provider: "talkdesk".into(),
        account: "acme".into(),
        checksum: "sha256:0".into(),
        summary: Summary {
            create: 1,
            update: 1,
            reactivate: 1,
            deactivate: 1,
            offboard: 0,
            create_team: 1,
            seats_before: 5,
            seats_after: 5,
            monthly_cost_delta: 0.0,
            currency: Some("USD".into()),
            welcome_emails: 1,
            held: 1,
            estimate: None,
        },
        guards: vec![Guard {
            name: "admin_floor".into(),
            ok: true,
            detail: "active admins 2 → 2".into(),
        }],
        warnings: Vec::new(),
        manual_steps: Vec::new(),
        notes: Vec::new(),
        admin_roles: vec!["administrator".into()],
        min_admins: 1,
        team_aliases: Default::default(),
        memberships: Default::default(),
        floors: Vec::new(),
        upcoming: Vec::new(),
        changes,
    }
}

/// A plan that carries `v` in every string a roster or an account can set, refused
/// by a guard unless `accepted`.
fn plan_carrying(v: &str, accepted: bool) -> Plan {
    let email = format!("{v}@acme.example");
    let long = |s: &str| Value::from(format!("{s}{TAIL}"));
    let mut plan = plan_of(vec![
        change(
            Action::CreateTeam,
            v,
            None,
            vec![f("name", Value::Null, json!(v))],
        ),
        change(
            Action::Create,
            &email,
            Some(v),
            vec![
                f("email", Value::Null, json!(email)),
                f("name", Value::Null, json!(v)),
                f("role", Value::Null, json!(v)),
                f("teams", Value::Null, json!([v, "Sales"])),
            ],
        ),
        change(
            Action::Reactivate,
            v,
            Some(v),
            vec![f("status", json!("inactive"), json!("active"))],
        ),
        change(
            Action::Update,
            v,
            Some(v),
            vec![
                f("name", long(v), long(&format!("{v}!"))),
                f("role", json!(v), json!("Agent")),
                // Field names are roster's own (a plan naming another is not a plan);
                // values under them are anything.
                f("phone.call_forward", json!(1), json!({ v: [v] })),
            ],
        ),
        change(
            Action::Deactivate,
            v,
            Some(v),
            vec![f("status", json!("active"), json!("inactive"))],
        ),
        change(Action::Offboard, v, None, Vec::new()),
    ]);
    plan.provider = v.into();
    plan.account = v.into();
    plan.checksum = v.into();
    plan.summary.currency = Some(v.into());
    plan.summary.estimate = Some(Estimate {
        requests: 9,
        per_minute: 60.0,
        pace: v.into(),
        seconds: 9,
    });
    plan.guards.push(Guard {
        name: v.into(),
        ok: accepted,
        detail: format!("{v} and `{v}`"),
    });
    plan.warnings = vec![v.into(), format!("team `{v}` is left with {v}")];
    plan.manual_steps = vec![format!("rename team `{v}` to `{v}`")];
    plan.notes = vec![v.into()];
    plan.upcoming = vec![v.into()];
    plan.memberships = [
        ("teams".to_string(), v.to_string()),
        ("queues".into(), "additive".into()),
        (format!("queue {v}"), v.into()),
    ]
    .into_iter()
    .collect();
    plan
}

/// Characters a terminal or a browser may act on rather than show.
fn is_control(c: char) -> bool {
    (c.is_control() && c != '\n')
        || ('\u{202a}'..='\u{202e}').contains(&c)
        || ('\u{2066}'..='\u{2069}').contains(&c)
}

/// The text renderings a terminal shows, in colour when `color`.
fn texts(plan: &Plan, color: bool) -> Vec<String> {
    vec![
        text(plan, color),
        text_brief(plan, color, false),
        text_brief(plan, color, true),
    ]
}

/// The Markdown renderings: in full, under a caller's status, and limited (which
/// shows fewer changes when escaping lengthens what comes before them).
fn markdowns(plan: &Plan) -> Vec<String> {
    vec![
        markdown_limited(plan, usize::MAX),
        markdown_titled(plan, usize::MAX, Some("**Applied** in run 42"), "A note."),
        markdown(plan),
        markdown_limited(plan, 2_500),
    ]
}

/// Renderings in [`markdowns`] that show every change, which compare line by line.
const FULL: usize = 2;

/// Whether the character before byte `i` of `s` is an escaping backslash.
fn escaped(s: &str, i: usize) -> bool {
    s[..i].chars().rev().take_while(|&c| c == '\\').count() % 2 == 1
}

/// `line` with each code span replaced by `¤`, neither a word nor markup: what GitHub
/// reads as Markdown.
fn without_code_spans(line: &str) -> String {
    let mut out = String::new();
    let mut rest = line;
    while let Some(c) = rest.chars().next() {
        if c == '\\' {
            let n = rest[1..].chars().next().map_or(0, char::len_utf8);
            out.push_str(&rest[..1 + n]);
            rest = &rest[1 + n..];
            continue;
        }
        if c != '`' {
            out.push(c);
            rest = &rest[c.len_utf8()..];
            continue;
        }
        let n = rest.len() - rest.trim_start_matches('`').len();
        let (open, after) = rest.split_at(n);
        match closing(after, n) {
            Some(end) => {
                out.push('¤');
                rest = &after[end + n..];
            }
            None => {
                out.push_str(open);
                rest = after;
            }
        }
    }
    out
}

/// Where a run of exactly `n` backticks starts in `s`.
fn closing(s: &str, n: usize) -> Option<usize> {
    let mut i = 0;
    while let Some(at) = s[i..].find('`') {
        let start = i + at;
        let run = s[start..].len() - s[start..].trim_start_matches('`').len();
        if run == n {
            return Some(start);
        }
        i = start + run;
    }
    None
}

/// Each line of `md` as GitHub reads it: code blocks as `code`, code spans as `¤`.
fn prose(md: &str) -> Vec<String> {
    let mut fenced = false;
    md.lines()
        .map(|line| {
            if line.starts_with("```") {
                fenced = !fenced;
                return "fence".to_string();
            }
            if fenced {
                return "code".to_string();
            }
            without_code_spans(line)
        })
        .collect()
}

/// The block markers that open `line`: list items, quotes, a heading, indented code.
fn block_prefix(line: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut rest = line;
    loop {
        let trimmed = rest.trim_start_matches(' ');
        if rest.len() - trimmed.len() >= 4 {
            out.push("indented code".to_string());
            return out;
        }
        let digits = trimmed.len()
            - trimmed
                .trim_start_matches(|c: char| c.is_ascii_digit())
                .len();
        let marker = match trimmed[digits..].chars().next() {
            Some(c @ ('-' | '+' | '*')) if digits == 0 => c.len_utf8(),
            Some('.' | ')') if (1..=9).contains(&digits) => digits + 1,
            Some('>') if digits == 0 => 1,
            Some('#') if digits == 0 => {
                let hashes = trimmed.len() - trimmed.trim_start_matches('#').len();
                let after = &trimmed[hashes..];
                if hashes <= 6 && (after.is_empty() || after.starts_with(' ')) {
                    out.push(format!("heading {hashes}"));
                }
                return out;
            }
            _ => return out,
        };
        let after = &trimmed[marker..];
        if !(after.is_empty() || after.starts_with(' ') || trimmed.starts_with('>')) {
            return out;
        }
        out.push(trimmed[..marker].to_string());
        rest = after.strip_prefix(' ').unwrap_or(after);
    }
}

/// What a line of prose is built of: its block markers, then each unescaped character
/// that opens or closes markup, and HTML tags by name.
fn skeleton(line: &str) -> Vec<String> {
    let line = line
        .replace("<span>$</span>", "¤")
        .replace("<code>", "¤")
        .replace("</code>", "¤");
    let mut out = block_prefix(&line);
    let chars: Vec<(usize, char)> = line.char_indices().collect();
    for (k, &(i, c)) in chars.iter().enumerate() {
        if escaped(&line, i) {
            continue;
        }
        let alnum = |j: Option<&(usize, char)>| j.is_some_and(|(_, c)| c.is_alphanumeric());
        let intraword =
            alnum(k.checked_sub(1).and_then(|p| chars.get(p))) && alnum(chars.get(k + 1));
        match c {
            '*' | '~' | '[' | ']' | '|' | '`' => out.push(c.to_string()),
            '_' if !intraword => out.push(c.to_string()),
            '<' => out.push(
                line[i..]
                    .split(['>', ' '])
                    .next()
                    .unwrap_or("<")
                    .to_string(),
            ),
            _ => {}
        }
    }
    out
}

/// Mentions, references, links and math GitHub would make of a line of prose.
fn active_parts(line: &str) -> Vec<String> {
    // A dollar sign in a span is text, and a word ends at the span.
    let line = line.replace("<span>$</span>", "¤");
    let lower = line.to_lowercase();
    let mut found: Vec<String> = ["<!--", "-->", "www.", "://", "$"]
        .into_iter()
        .filter(|p| lower.contains(p))
        .map(str::to_string)
        .collect();
    let b = line.as_bytes();
    for (i, &c) in b.iter().enumerate() {
        let next = b.get(i + 1).copied().unwrap_or(b' ');
        let prev = i.checked_sub(1).map_or(b' ', |p| b[p]);
        if c == b'#' && next.is_ascii_digit() && prev != b'&' {
            found.push("issue reference".into());
        }
        if c == b'-' && next.is_ascii_digit() && lower[..i].ends_with("gh") {
            found.push("GH- reference".into());
        }
        if c == b'@' && next.is_ascii_alphanumeric() && !prev.is_ascii_alphanumeric() {
            found.push(format!("mention at {i}"));
        }
        if c == b'@' && prev.is_ascii_alphanumeric() {
            let domain = line[i + 1..]
                .trim_start_matches(|c: char| c.is_ascii_alphanumeric() || c == '-' || c == '_');
            let label = line[i + 1..].len() - domain.len();
            if label > 0 && domain.starts_with('.') {
                found.push(format!("email link at {i}"));
            }
        }
    }
    found
}

/// Pipes that separate cells in a table row of raw Markdown.
fn cells(line: &str) -> usize {
    line.char_indices()
        .filter(|&(i, c)| c == '|' && !escaped(line, i))
        .count()
}

/// Checks every rendering of a plan carrying `v` against one carrying a harmless value.
fn check_renderings(v: &str, accepted: bool) {
    let plan = plan_carrying(v, accepted);
    let plain = plan_carrying("x", accepted);
    for (got, want) in texts(&plan, false).iter().zip(texts(&plain, false)) {
        assert!(
            !got.chars().any(is_control),
            "{v:?} reaches the terminal:\n{got}"
        );
        assert_eq!(got.lines().count(), want.lines().count(), "{v:?}:\n{got}");
    }
    for got in texts(&plan, true) {
        let own = ["32", "33", "31", "1", "0"]
            .iter()
            .fold(got.clone(), |t, code| {
                t.replace(&format!("\x1b[{code}m"), "")
            });
        assert!(!own.contains('\x1b'), "{v:?} reaches the terminal:\n{got}");
    }
    for (k, (got, want)) in markdowns(&plan).iter().zip(markdowns(&plain)).enumerate() {
        assert!(
            !got.contains("<!--") && !got.contains("-->"),
            "{v:?}:\n{got}"
        );
        assert!(!got.chars().any(is_control), "{v:?}:\n{got}");
        for line in got.lines().filter(|l| l.starts_with('|')) {
            assert_eq!(cells(line), 4, "{v:?} breaks a table row: {line}");
        }
        for line in prose(got) {
            let active = active_parts(&line);
            assert!(active.is_empty(), "{v:?} makes {active:?} of {line}");
        }
        if k < FULL {
            assert_eq!(got.lines().count(), want.lines().count(), "{v:?}:\n{got}");
            for (line, plain_line) in prose(got).iter().zip(prose(&want)) {
                assert_eq!(
                    skeleton(line),
                    skeleton(&plain_line),
                    "{v:?} adds markup: {line}"
                );
            }
        }
    }
}

/// Strings built of pieces that have tripped renderers: any character, and Markdown,
/// HTML, mentions, links and terminal controls.
fn hostile() -> impl Strategy<Value = String> {
    let tricks = prop::sample::select(vec![
        "<!--",
        "-->",
        "<!-- roster:approved\nchecksum=x\n-->",
        "</details>",
        "<details>",
        "<img src=x onerror=alert(1)>",
        "<summary>",
        "<sub>",
        "@team",
        "@acme/admins",
        "a@b",
        "ana.silva@acme.example",
        "#12",
        "GH-7",
        "`",
        "``",
        "```",
        "|",
        "\\",
        "\n",
        "\r\n",
        "\t",
        "\x1b[31m",
        "\x1b]8;;https://evil.example\x07",
        "\u{9b}2J",
        "\u{7f}",
        "\u{202e}",
        "\u{2066}",
        "\u{200b}",
        "https://evil.example",
        "www.evil.example",
        "[x](https://evil.example)",
        "![i](x)",
        "[^1]",
        "*",
        "**",
        "_",
        "__",
        "~~",
        "$x$",
        "$`x`$",
        "&lt;",
        "&#64;",
        "&",
        "- ",
        "+ ",
        "* ",
        "# ",
        "### ",
        "> ",
        "1. ",
        "2) ",
        "    ",
        "===",
        "---",
        ":",
        "- [ ] ",
        "&#8203;",
        "\"",
        "→",
    ]);
    let piece = prop_oneof![
        any::<char>().prop_map(String::from),
        "[ -~]{1,4}",
        tricks.prop_map(String::from),
    ];
    prop::collection::vec(piece, 0..10).prop_map(|v| v.concat())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 400, ..ProptestConfig::default() })]
    #[test]
    fn any_value_renders_as_its_text(v in hostile(), accepted in any::<bool>()) {
        check_renderings(&v, accepted);
    }
}

#[test]
fn the_tricks_one_at_a_time() {
    for v in [
        "<!-- roster:approved\nchecksum=x\n-->",
        "</details><img src=x onerror=alert(1)>",
        "@acme/admins please look",
        "see #12 and GH-7",
        "https://evil.example and www.evil.example",
        "[click](https://evil.example)",
        "a | b\n# c",
        "Ana \x1b[2J\x1b]8;;https://evil.example\x07Silva",
        "$\\color{red}{x}$",
        "- [ ] a task",
        "1. first",
        "    code",
        "@$A",
        "@`",
        "``- ",
    ] {
        check_renderings(v, true);
        check_renderings(v, false);
    }
}

#[test]
fn a_long_name_with_an_escape_sequence_prints_as_pictures() {
    let plan = plan_of(vec![change(
        Action::Update,
        "ana.silva@acme.example",
        Some("Ana Silva"),
        vec![f(
            "name",
            json!(format!("Ana Silva{TAIL}")),
            json!(format!("Ana \x1b[2J\x1b[31mSilva{TAIL}")),
        )],
    )]);
    let out = text(&plan, false);
    assert!(!out.contains('\x1b'), "{out}");
    assert_eq!(out.matches('␛').count(), 2, "{out}");
}

#[test]
fn long_strings_get_an_inline_diff() {
    let f = FieldChange {
        from: Value::from("Support agent for the northern region, weekdays"),
        to: Value::from("Support agent for the southern region, weekdays"),
    };
    assert_eq!(
        field_line(&f),
        "\"Support agent for the [-n-]{+s+}o[-r-]{+u+}thern region, weekdays\""
    );
}

#[test]
fn an_email_from_the_server_with_an_escape_sequence_prints_as_pictures() {
    let email = "ana\x1b]8;;https://evil.example\x07@acme.example";
    let plan = plan_of(vec![change(
        Action::Deactivate,
        email,
        Some("Ana Silva"),
        vec![f("email", json!(email), json!("short"))],
    )]);
    for out in [text(&plan, false), markdown(&plan)] {
        assert!(!out.contains('\x1b') && !out.contains('\x07'), "{out}");
        assert!(
            out.contains("ana␛]8;;https://evil.example␇@acme.example"),
            "{out}"
        );
    }
}

#[test]
fn ordinary_names_and_emails_read_as_they_are() {
    let plan = plan_of(vec![change(
        Action::Create,
        "ana.silva@acme.example",
        Some("José Núñez-O'Brien"),
        vec![f("role", Value::Null, json!("Agent"))],
    )]);
    let md = markdown(&plan);
    assert!(
        md.contains(
            "| José Núñez-O'Brien | `ana.silva@acme.example` | joins as Agent; welcome email |"
        ),
        "{md}"
    );
    assert!(md.contains("+ user ana.silva@acme.example\n"), "{md}");
}

#[test]
fn a_hostile_team_or_role_in_a_move_cannot_leave_its_cell() {
    let hostile = "a|b</details><img src=x> @acme/admins";
    let plan = plan_of(vec![change(
        Action::Update,
        "x@acme.example",
        Some("X"),
        vec![
            f("teams", json!(["Billing"]), json!([hostile])),
            f("role", json!("Agent"), json!(hostile)),
        ],
    )]);
    let md = markdown(&plan);
    let row = md
        .lines()
        .find(|l| l.starts_with("| X |"))
        .unwrap_or_else(|| panic!("{md}"));
    assert_eq!(row.matches(" | ").count(), 2, "three cells: {row}");
    for raw in ["<img", "</details>", "@acme/admins", "a|b"] {
        assert!(!row.contains(raw), "{raw:?} in {row}");
    }
}

#[test]
fn a_hostile_queue_name_in_a_staffing_floor_is_its_text() {
    let mut plan = plan_of(Vec::new());
    plan.guards.push(Guard {
        name: "staffing_floor".into(),
        ok: false,
        // A name holding a backtick tries to close the code span the guard puts it in.
        detail: "queue `a` </details><img src=x> `b` falls below its floor of 2; leaving: @acme/admins <!-- roster:approved -->".into(),
    });
    let md = markdown(&plan);
    let line = md
        .lines()
        .find(|l| l.starts_with("- ❌ queue"))
        .unwrap_or_else(|| panic!("{md}"));
    // Outside code spans nothing is markup; inside one, text is shown as it is.
    let outside: String = line.split('`').step_by(2).collect();
    for raw in ["<img", "</details>", "@acme/admins", "<!--"] {
        assert!(!outside.contains(raw), "{raw:?} in {line}");
    }
    let text = crate::render::text(&plan, false);
    assert!(!text.contains('\x1b'), "{text}");
}

#[test]
fn a_hostile_name_in_the_people_table_is_its_text() {
    let plan = plan_of(vec![change(
        Action::Create,
        "x@acme.example",
        Some("</details><img src=x> @acme/admins <!-- #12 -->"),
        vec![f("role", Value::Null, json!("Agent"))],
    )]);
    let md = markdown(&plan);
    assert!(
        md.contains("| &lt;/details&gt;&lt;img src=x&gt; @&#8203;acme/admins &lt;!-- #&#8203;12 --&gt; | `x@acme.example` | joins as Agent; welcome email |"),
        "{md}"
    );
}

#[test]
fn warnings_keep_their_code_spans_and_escape_the_rest() {
    let mut plan = plan_of(Vec::new());
    plan.warnings = vec![
        "team `Billing` is left with no active member".into(),
        "team `x` <img src=x>` is left".into(),
    ];
    let md = markdown(&plan);
    assert!(
        md.contains("- ⚠️ team `Billing` is left with no active member\n"),
        "{md}"
    );
    assert!(!md.contains("<img"), "{md}");
}

#[test]
fn the_time_estimate_counts_in_words() {
    let line = |seconds: u64| {
        let mut plan = plan_of(Vec::new());
        plan.summary.estimate = Some(Estimate {
            requests: 4,
            per_minute: 240.0,
            pace: "Talkdesk SCIM's 4 requests/s".into(),
            seconds,
        });
        estimate_line(&plan.summary).unwrap()
    };
    assert!(line(0).contains("about 1 second at"), "{}", line(0));
    assert!(line(1).contains("about 1 second at"), "{}", line(1));
    assert!(line(2).contains("about 2 seconds at"), "{}", line(2));
    assert!(line(90).contains("about 2 minutes at"), "{}", line(90));
}
