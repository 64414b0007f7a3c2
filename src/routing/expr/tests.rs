//! Test tables: every §11.1 fixture plus extra good inputs with expected match results, bad
//! inputs with the expected error position, and a no-panic sweep over garbled strings.

use serde_json::{Value, json};

use super::{Context, Expr, parse};

fn w() -> Value {
    json!({"skills":["support","billing"],"languages":["english","spanish"],"level":5,
           "name":"bob","region":"us","routing":{"skills":["sales"],"levels":{"sales":3}},
           "nothing": null, "flag": true, "ratio": 0.5})
}

fn t() -> Value {
    json!({"string_const":"foo","object":{"array":["a","b","c"],"attr":"bar"},
           "customer_value":"Gold","type":"ticket","language":"en","skill_rating":6})
}

fn t2() -> Value {
    json!({"required_skill":"billing","preferred_agents":["WK1"],
           "do_not_contact":["WK2"],"language":"english"})
}

/// Which context a table row is evaluated in.
#[derive(Clone, Copy, Debug)]
enum On {
    /// Plain keys over worker attributes W.
    W,
    /// Plain keys over task attributes T.
    T,
    /// Target expression: task T2, worker with sid WK1 and attributes W.
    Wk1,
    /// Same with worker sid WK2.
    Wk2,
    /// Plain keys over W with worker built-ins (sid WK1) layered on top.
    WProps,
}

const GOOD: &[(&str, On, bool)] = &[
    // §11.1, worker attributes W.
    ("1==1", On::W, true),
    ("1==0", On::W, false),
    (
        "(skills HAS 'support') AND (languages HAS 'english')",
        On::W,
        true,
    ),
    (r#"skills HAS "sales""#, On::W, false),
    ("routing.skills HAS 'sales'", On::W, true),
    ("routing.levels.sales >= 3", On::W, true),
    ("level > 3", On::W, true),
    ("level >= 5.1", On::W, false),
    (r#"region IN ["us", "ca"]"#, On::W, true),
    ("region NOT IN ['us']", On::W, false),
    (r#"name CONTAINS "ob""#, On::W, true),
    (r#"skills == "support""#, On::W, false),
    ("level HAS 5", On::W, false),
    (r#"missing_key == "x""#, On::W, false),
    ("skills HAS 'billing' OR level < 1", On::W, true),
    (
        "(level < 1 OR region == 'us') AND languages HAS 'spanish'",
        On::W,
        true,
    ),
    // §11.1, task attributes T.
    (r#"string_const == "foo""#, On::T, true),
    (r#"object.array[2] == "c""#, On::T, true),
    (r#"object.attr != "apple""#, On::T, true),
    (r#"object.array HAS "b""#, On::T, true),
    ("customer_value == 'Gold' AND type == 'ticket'", On::T, true),
    (r#"language IN ["en", "es"]"#, On::T, true),
    (
        r#"(language == "en" OR language == "fr") AND skill_rating >= 5.1"#,
        On::T,
        true,
    ),
    (r#""apple" != "orange""#, On::T, true),
    ("0 != 1", On::T, true),
    // §11.1, target expressions.
    ("worker.skills HAS task.required_skill", On::Wk1, true),
    ("worker.sid IN task.preferred_agents", On::Wk1, true),
    ("worker.sid NOT IN task.do_not_contact", On::Wk1, true),
    ("task.language IN worker.languages", On::Wk1, true),
    ("worker.sid NOT IN task.do_not_contact", On::Wk2, false),
    // Keywords are case-insensitive.
    ("skills has 'support' and level > 3", On::W, true),
    ("region not in ['ca'] or 1 == 0", On::W, true),
    ("region Not In ['us']", On::W, false),
    ("name contains 'b' AND flag == TRUE", On::W, true),
    ("flag == False", On::W, false),
    ("flag != false", On::W, true),
    // Precedence: AND binds tighter than OR.
    ("1 == 1 OR 1 == 0 AND 1 == 0", On::W, true),
    ("(1 == 1 OR 1 == 0) AND 1 == 0", On::W, false),
    ("1 == 0 AND 1 == 1 OR 1 == 1", On::W, true),
    ("((((level == 5))))", On::W, true),
    // Numbers.
    ("level == 5.0", On::W, true),
    ("ratio == .5", On::W, true),
    ("ratio < 1", On::W, true),
    ("3.141529 > 3", On::W, true),
    ("level <= 5", On::W, true),
    ("level < 5", On::W, false),
    ("level != 5", On::W, false),
    // NULL: every comparison with a missing key or JSON null is false.
    ("missing_key != 'x'", On::W, false),
    ("missing_key NOT IN ['x']", On::W, false),
    ("missing_key IN ['x']", On::W, false),
    ("nothing == nothing", On::W, false),
    ("nothing != 1", On::W, false),
    ("routing.missing.deeper == 1", On::W, false),
    ("skills[5] == 'x'", On::W, false),
    ("skills[1] == 'billing'", On::W, true),
    ("name.first == 'bob'", On::W, false),
    // Cross-type comparisons are false.
    ("level == '5'", On::W, false),
    ("level != '5'", On::W, false),
    ("name > 1", On::W, false),
    ("flag == 1", On::W, false),
    // Scalar ops on arrays / objects, array ops on scalars.
    ("skills != 'x'", On::W, false),
    ("skills CONTAINS 'support'", On::W, false),
    ("routing == routing", On::W, false),
    ("'us' IN region", On::W, false),
    ("region NOT IN 'ca'", On::W, false),
    ("skills IN ['support']", On::W, false),
    ("skills HAS ['support']", On::W, false),
    // Strings.
    ("name > 'alice'", On::W, true),
    ("name CONTAINS 'x'", On::W, false),
    (r#""it's" CONTAINS "'""#, On::W, true),
    (r#"name == "bob""#, On::W, true),
    ("name == 'Bob'", On::W, false),
    // Arrays.
    ("level IN [1, 5, 'x']", On::W, true),
    ("level IN []", On::W, false),
    ("level NOT IN []", On::W, true),
    ("region IN [name, region]", On::W, true),
    ("flag IN [true]", On::W, true),
    ("level IN [[5]]", On::W, false),
    // Target context: unprefixed keys are NULL; built-ins win over attributes.
    ("level == 5", On::Wk1, false),
    ("worker.level == 5", On::Wk1, true),
    ("task.required_skill IN worker.skills", On::Wk1, true),
    ("worker.channel.chat.configured_capacity > 0", On::Wk1, true),
    ("worker.activity_name == 'Available'", On::Wk1, true),
    ("task.missing == worker.missing", On::Wk1, false),
    // Plain context with worker built-ins layered over attributes.
    ("sid == 'WK1' AND skills HAS 'support'", On::WProps, true),
    ("friendly_name == 'Bob' AND name == 'bob'", On::WProps, true),
    // Whitespace.
    ("  level\t>\n3  ", On::W, true),
    ("level>3", On::W, true),
];

/// `(input, expected byte position of the error)`.
const BAD: &[(&str, usize)] = &[
    ("", 0),
    ("   ", 3),
    ("level", 5),
    ("level >", 7),
    ("level = 5", 6),
    ("level ! 5", 6),
    ("> 5", 0),
    ("level > 5 AND", 13),
    ("level > 5 OR OR level < 1", 13),
    ("(level > 5", 10),
    ("level > 5)", 9),
    ("((level > 5)", 12),
    ("name == 'bob", 8),
    (r#"name == "bob"#, 8),
    ("skill-level > 3", 5),
    ("level > -1", 8),
    ("region IN ['us', ]", 17),
    ("region IN ['us' 'ca']", 16),
    ("region IN ['us'", 15),
    ("region NOT ['us']", 11),
    ("region NOT", 10),
    ("a.[1] == 1", 2),
    ("a. == 1", 2),
    ("a[x] == 1", 2),
    ("a[1 == 1", 3),
    ("a[] == 1", 2),
    ("1. == 1", 2),
    ("1.2.3 == 1", 0),
    ("12abc == 1", 0),
    ("level > 3 level < 5", 10),
    ("AND == 1", 0),
    ("level == IN", 9),
    ("level == 5 # comment", 11),
    ("émoji == 1", 0),
    ("'é' == 'é' AND", 16),
    ("level HAS", 9),
    ("() ", 1),
    ("[1, 2]", 6),
    ("level == 1 == 1", 11),
];

fn check_good(src: &str, on: On, expected: bool) -> Result<(), String> {
    let w = w();
    let t = t();
    let t2 = t2();
    let props = |sid: &str| {
        json!({"sid": sid, "friendly_name": "Bob", "activity_sid": "WA1",
               "activity_name": "Available",
               "channel": {"chat": {"configured_capacity": 2, "assigned_tasks": 0,
                                    "available_capacity_percentage": 100, "available": true}}})
    };
    let (p1, p2) = (props("WK1"), props("WK2"));
    let ctx = match on {
        On::W => Context::new(&w),
        On::T => Context::new(&t),
        On::Wk1 => Context::target(&t2, &w).with_worker_properties(&p1),
        On::Wk2 => Context::target(&t2, &w).with_worker_properties(&p2),
        On::WProps => Context::new(&w).with_properties(&p1),
    };
    let expr: Expr = parse(src).map_err(|e| format!("{src:?}: unexpected error: {e}"))?;
    let got = expr.matches(&ctx);
    if got != expected {
        return Err(format!("{src:?} on {on:?}: expected {expected}, got {got}"));
    }
    Ok(())
}

#[test]
fn good_expressions_match_as_expected() {
    let failures: Vec<String> = GOOD
        .iter()
        .filter_map(|&(src, on, expected)| check_good(src, on, expected).err())
        .collect();
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn bad_expressions_report_position() {
    let mut failures = Vec::new();
    for &(src, position) in BAD {
        match parse(src) {
            Ok(expr) => failures.push(format!("{src:?}: parsed as {expr:?}")),
            Err(e) if e.position != position => failures.push(format!(
                "{src:?}: expected position {position}, got {} ({e})",
                e.position
            )),
            Err(e) => {
                let column = src.get(..position).map(|s| s.chars().count() + 1);
                if Some(e.column) != column || e.message.is_empty() {
                    failures.push(format!("{src:?}: bad column/message: {e:?}"));
                }
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn error_message_says_where() {
    match parse("level = 5") {
        Err(e) => assert_eq!(
            e.to_string(),
            "unexpected '=', use '==' for equality at column 7"
        ),
        Ok(expr) => panic!("parsed: {expr:?}"),
    }
}

#[test]
fn deep_nesting_is_an_error_not_a_stack_overflow() {
    let deep = format!("{}1 == 1{}", "(".repeat(100_000), ")".repeat(100_000));
    assert!(parse(&deep).is_err());
    let deep_array = format!("1 IN {}1{}", "[".repeat(100_000), "]".repeat(100_000));
    assert!(parse(&deep_array).is_err());
    let ok = format!("{}1 == 1{}", "(".repeat(60), ")".repeat(60));
    assert!(parse(&ok).is_ok());
}

/// Deterministic xorshift, so the sweep is reproducible without extra dependencies.
struct XorShift(u64);

impl XorShift {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    fn below(&mut self, n: usize) -> usize {
        usize::try_from(self.next() % n as u64).unwrap_or(0)
    }
}

#[test]
fn parse_never_panics_on_garbled_input() {
    const PIECES: &[&str] = &[
        "(",
        ")",
        "[",
        "]",
        ",",
        "'",
        "\"",
        "==",
        "=",
        "!=",
        "!",
        ">",
        ">=",
        "<",
        "<=",
        " ",
        ".",
        "-",
        "1",
        "0.5",
        ".5",
        "1.",
        "99999999999999999999999",
        "1e5",
        "a",
        "level",
        "a.b",
        "x[2]",
        "[",
        "AND",
        "or",
        "NOT",
        "in",
        "HAS",
        "contains",
        "true",
        "FALSE",
        "é",
        "\u{0}",
        "\t",
        "\n",
        "worker.",
        "task.sid",
        "'s'",
        "\"s\"",
        "[1,2]",
        "🦀",
        "\\",
    ];
    let w = w();
    let ctx = Context::new(&w);
    let mut rng = XorShift(0x9E37_79B9_7F4A_7C15);
    let mut parsed = 0;
    for round in 0..2000 {
        let mut src = String::new();
        for _ in 0..rng.below(12) {
            if round % 3 == 0 {
                // Raw characters, including multi-byte ones.
                let c =
                    char::from_u32(u32::try_from(rng.below(0x3000)).unwrap_or(0)).unwrap_or('?');
                src.push(c);
            } else {
                src.push_str(PIECES[rng.below(PIECES.len())]);
            }
        }
        match parse(&src) {
            Ok(expr) => {
                parsed += 1;
                let _ = expr.matches(&ctx);
            }
            Err(e) => {
                assert!(e.position <= src.len(), "{src:?}: {e:?}");
                assert!(src.is_char_boundary(e.position), "{src:?}: {e:?}");
            }
        }
    }
    // Also mangle every good input by truncation at each char boundary.
    for &(good, _, _) in GOOD {
        for (i, _) in good.char_indices() {
            let _ = parse(&good[..i]);
            let _ = parse(&good[i..]);
        }
    }
    assert!(
        parsed > 0,
        "the generator should hit some valid expressions"
    );
}
