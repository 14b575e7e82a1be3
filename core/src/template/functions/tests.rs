//! Table-driven tests, one per function. Cases marked "doc" are the examples
//! from Terraform's documentation for that function.

#![allow(clippy::approx_constant)] // test data such as 3.14159 is not meant as PI

use chrono::TimeZone;
use serde_json::json;

use super::{call, exists, names, FuncContext, FuncError};
use crate::template::value::Value;

enum Want {
    Ok(Value),
    /// A substring of the error's Display text.
    Err(&'static str),
}

fn v(j: serde_json::Value) -> Value {
    serde_json::from_value(j).expect("json converts to a value")
}

fn args(j: serde_json::Value) -> Vec<Value> {
    match v(j) {
        Value::Array(a) => a,
        other => panic!("arguments must be a JSON array, got {other:?}"),
    }
}

fn ctx() -> FuncContext {
    FuncContext {
        now: chrono::Utc
            .with_ymd_and_hms(2018, 5, 13, 7, 44, 12)
            .unwrap()
            + chrono::Duration::milliseconds(345),
    }
}

macro_rules! case {
    ($args:tt => ok $want:tt) => {
        (args(json!($args)), Want::Ok(v(json!($want))))
    };
    ($args:tt => err $msg:literal) => {
        (args(json!($args)), Want::Err($msg))
    };
}

macro_rules! table {
    ($($args:tt => $kind:ident $want:tt),* $(,)?) => {
        vec![$(case!($args => $kind $want)),*]
    };
}

fn check(name: &str, cases: Vec<(Vec<Value>, Want)>) {
    let ctx = ctx();
    let mut failures = Vec::new();
    for (i, (input, want)) in cases.into_iter().enumerate() {
        let shown = serde_json::to_string(&input).unwrap_or_default();
        let got = call(name, input, &ctx);
        match (&want, &got) {
            (Want::Ok(w), Ok(g)) if w == g => {}
            (Want::Err(sub), Err(e)) if e.to_string().contains(sub) => {}
            (Want::Ok(w), _) => failures.push(format!(
                "case {i}: {name}{shown}\n    want Ok({})\n    got  {}",
                serde_json::to_string(w).unwrap_or_default(),
                show(&got)
            )),
            (Want::Err(sub), _) => failures.push(format!(
                "case {i}: {name}{shown}\n    want error containing {sub:?}\n    got  {}",
                show(&got)
            )),
        }
    }
    assert!(
        failures.is_empty(),
        "{} failing case(s):\n{}",
        failures.len(),
        failures.join("\n")
    );
}

fn show(r: &Result<Value, FuncError>) -> String {
    match r {
        Ok(v) => format!("Ok({})", serde_json::to_string(v).unwrap_or_default()),
        Err(e) => format!("Err({e})"),
    }
}

// ---------------------------------------------------------------------------
// Registry and errors

#[test]
fn registry() {
    let n = names();
    assert_eq!(n.len(), 60);
    assert!(
        n.windows(2).all(|w| w[0] < w[1]),
        "names must be sorted and unique"
    );
    for name in n {
        assert!(exists(name), "{name}");
    }
    assert!(!exists("lowr"));
    assert!(!exists(""));
    assert!(!exists("Lower"));
    assert_eq!(super::FUNCS.len(), n.len());
}

#[test]
fn error_messages() {
    let ctx = ctx();
    let cases: Vec<(&str, Vec<Value>, &str)> = vec![
        (
            "lowr",
            vec![],
            "there is no function named \"lowr\"; did you mean \"lower\"?",
        ),
        (
            "LOWER",
            vec![],
            "there is no function named \"LOWER\"; did you mean \"lower\"?",
        ),
        ("jsonencod", vec![], "did you mean \"jsonencode\"?"),
        ("regexreplace", vec![], "did you mean \"regex_replace\"?"),
        (
            "frobnicate",
            vec![],
            "there is no function named \"frobnicate\"",
        ),
        ("", vec![], "there is no function named \"\""),
        (
            "chunklist",
            args(json!([[], 1, 2])),
            "chunklist() takes 2 arguments, got 3",
        ),
        ("upper", vec![], "upper() takes 1 argument, got 0"),
        (
            "timestamp",
            args(json!([1])),
            "timestamp() takes no arguments, got 1",
        ),
        (
            "lookup",
            args(json!([{}])),
            "lookup() takes 2 or 3 arguments, got 1",
        ),
        ("max", vec![], "max() takes at least 1 argument, got 0"),
        (
            "element",
            args(json!([["a"], "x"])),
            "element(): argument 2 must be a whole number, got string \"x\"",
        ),
        (
            "index",
            args(json!([["a"], "b"])),
            "index(): the value \"b\" was not found in the list",
        ),
    ];
    for (name, a, want) in cases {
        let err = call(name, a, &ctx).expect_err(name);
        let text = err.to_string();
        assert!(text.contains(want), "{name}: {text}");
    }
    // The variants carry the details.
    assert_eq!(
        call("lowr", vec![], &ctx),
        Err(FuncError::Unknown {
            name: "lowr".into(),
            suggestion: Some("lower".into())
        })
    );
    assert_eq!(
        call("frobnicate", vec![], &ctx),
        Err(FuncError::Unknown {
            name: "frobnicate".into(),
            suggestion: None
        })
    );
    assert_eq!(
        call("chunklist", args(json!([[], 1, 2])), &ctx),
        Err(FuncError::Arity {
            name: "chunklist",
            expected: "2",
            got: 3
        })
    );
    assert_eq!(
        call("element", args(json!([["a"], "x"])), &ctx),
        Err(FuncError::Arg {
            name: "element",
            index: 1,
            message: "must be a whole number, got string \"x\"".into()
        })
    );
    assert!(matches!(
        call("chunklist", args(json!([["a"], -1])), &ctx),
        Err(FuncError::Arg { index: 1, .. })
    ));
    assert!(matches!(
        call("element", args(json!([[], 0])), &ctx),
        Err(FuncError::Invalid {
            name: "element",
            ..
        })
    ));
    // A very long unknown name gets no suggestion (and no quadratic work).
    let long = "x".repeat(100_000);
    assert!(matches!(
        call(&long, vec![], &ctx),
        Err(FuncError::Unknown {
            suggestion: None,
            ..
        })
    ));
}

/// Every function, called with every combination of up to three awkward
/// arguments, returns (Ok or Err) without panicking.
#[test]
fn no_panics_on_odd_inputs() {
    let ctx = ctx();
    let pool: Vec<Value> = args(json!([
        null,
        true,
        0,
        -1,
        1.5,
        -9223372036854775808i64,
        9223372036854775807i64,
        18446744073709551615u64,
        1000000000,
        1e300,
        -1e-300,
        "",
        "héllo 👋🏽\n",
        "%",
        "%[999999999999999999999]d",
        "/(/",
        "2018-01-02T23:12:01Z",
        "3",
        [],
        [null, "a", 1, [2, [3]]],
        {},
        {"a": 1, "b": [true], "": null}
    ]));
    let small: Vec<Value> = pool.iter().step_by(2).cloned().collect();
    for name in names() {
        let _ = call(name, vec![], &ctx);
        for x in &pool {
            let _ = call(name, vec![x.clone()], &ctx);
            for y in &pool {
                let _ = call(name, vec![x.clone(), y.clone()], &ctx);
                for z in &small {
                    let _ = call(name, vec![x.clone(), y.clone(), z.clone()], &ctx);
                }
            }
        }
    }
}

#[test]
fn deep_nesting_is_an_error_not_a_crash() {
    let ctx = ctx();
    let mut deep = Value::String("x".into());
    for _ in 0..600 {
        deep = Value::Array(vec![deep]);
    }
    for name in [
        "flatten",
        "jsonencode",
        "distinct",
        "setunion",
        "setintersection",
    ] {
        let arg = if name == "jsonencode" {
            deep.clone()
        } else {
            Value::Array(vec![deep.clone()])
        };
        let got = call(name, vec![arg], &ctx);
        let err = got.expect_err(name).to_string();
        assert!(err.contains("nested"), "{name}: {err}");
    }
    let got = call(
        "format",
        vec![Value::String("%v".into()), deep.clone()],
        &ctx,
    );
    assert!(got.expect_err("format").to_string().contains("nested"));
    // Drop the value iteratively so the test itself cannot overflow the stack.
    let mut cur = deep;
    while let Value::Array(mut a) = cur {
        cur = a.pop().unwrap_or(Value::Null);
    }
}

#[test]
fn results_are_capped() {
    let ctx = ctx();
    let big_list = Value::Array((0..2000).map(|i| Value::from(i as i64)).collect());
    let cases: Vec<(&str, Vec<Value>, &str)> = vec![
        (
            "setproduct",
            vec![big_list.clone(), big_list.clone()],
            "limit",
        ),
        ("format", args(json!(["%999999999s", "x"])), "limit"),
        (
            "format",
            args(json!(["%9999999999999999999999s", "x"])),
            "width too large",
        ),
        (
            "format",
            args(json!(["%.9999999999999999999999f", 1])),
            "precision too large",
        ),
        (
            "indent",
            vec![Value::from(1_000_000i64), Value::String("\n".repeat(100))],
            "limit",
        ),
        (
            "replace",
            vec![
                Value::String("a".repeat(1000)),
                "a".into(),
                Value::String("b".repeat(100_000)),
            ],
            "limit",
        ),
        (
            "regex_replace",
            vec![
                Value::String("a".repeat(1000)),
                "a".into(),
                Value::String("b".repeat(100_000)),
            ],
            "limit",
        ),
        (
            "join",
            vec![Value::String("x".repeat(100_000)), big_list.clone()],
            "limit",
        ),
        ("range", args(json!([0, 100000])), "more than 1024 values"),
        (
            "range",
            args(json!([0, 1, 1e-300])),
            "more than 1024 values",
        ),
    ];
    for (name, a, want) in cases {
        let err = call(name, a, &ctx).expect_err(name).to_string();
        assert!(err.contains(want), "{name}: {err}");
    }
    let many = Value::Array(vec![big_list.clone(); 20]);
    let got = call(
        "formatlist",
        vec!["%v".into(), Value::Array(vec![many; 3])],
        &ctx,
    );
    assert!(got.is_ok());
}

// ---------------------------------------------------------------------------
// Collection functions

#[test]
fn chunklist() {
    check(
        "chunklist",
        table![
            // doc
            [["a", "b", "c", "d", "e"], 2] => ok [["a", "b"], ["c", "d"], ["e"]],
            [["a", "b", "c", "d", "e"], 1] => ok [["a"], ["b"], ["c"], ["d"], ["e"]],
            // edge cases
            [["a", "b"], 5] => ok [["a", "b"]],
            [["a", "b"], 2] => ok [["a", "b"]],
            [[], 3] => ok [],
            [["a", "b"], 0] => ok [["a", "b"]],
            [["a", "b"], "1"] => ok [["a"], ["b"]],
            [[1, null, [2]], 2] => ok [[1, null], [[2]]],
            [["a"], 9223372036854775807i64] => ok [["a"]],
            [["a"], -1] => err "argument 2 must not be negative, got -1",
            [["a"], 1.5] => err "argument 2 must be a whole number, got number 1.5",
            [["a"], 1e300] => err "argument 2 is out of range",
            [["a"], "x"] => err "argument 2 must be a whole number, got string \"x\"",
            [["a"], null] => err "argument 2 must be a whole number, got null",
            ["abc", 1] => err "chunklist(): argument 1 must be a list, got string \"abc\"",
            [{"a": 1}, 1] => err "argument 1 must be a list, got object",
            [null, 1] => err "argument 1 must be a list, got null",
            [["a"]] => err "takes 2 arguments, got 1",
        ],
    );
}

#[test]
fn coalesce() {
    check(
        "coalesce",
        table![
            // doc
            ["a", "b"] => ok "a",
            ["", "b"] => ok "b",
            [1, 2] => ok 1,
            // edge cases
            [null, "b"] => ok "b",
            [null, "", null, "c"] => ok "c",
            [null, 0] => ok 0,
            [false, true] => ok false,
            [1, "x"] => ok "1",
            ["", 2] => ok "2",
            [[], ["a"]] => ok [],
            [{"a": 1}] => ok {"a": 1},
            ["héllo"] => ok "héllo",
            [null, null] => err "no non-null, non-empty-string arguments",
            ["", ""] => err "no non-null, non-empty-string arguments",
            [1, true] => err "all values must have the same type, but found number and bool",
            ["a", ["b"]] => err "found string and list",
            [] => err "coalesce() takes at least 1 argument, got 0",
        ],
    );
}

#[test]
fn coalescelist() {
    check(
        "coalescelist",
        table![
            // doc
            [["a", "b"], ["c", "d"]] => ok ["a", "b"],
            [[], ["c", "d"]] => ok ["c", "d"],
            // edge cases
            [null, [], [1]] => err "argument 1 must be a list, got null",
            [[null]] => ok [null],
            [[[]], ["x"]] => ok [[]],
            [[], []] => err "no non-empty list arguments",
            [[], "a"] => err "argument 2 must be a list, got string \"a\"",
            [{"a": 1}] => err "argument 1 must be a list, got object",
            [] => err "takes at least 1 argument, got 0",
        ],
    );
}

#[test]
fn compact() {
    check(
        "compact",
        table![
            // doc
            [["a", "", "b", "c"]] => ok ["a", "b", "c"],
            // edge cases
            [["a", null, "b", null]] => ok ["a", "b"],
            [[]] => ok [],
            [["", null]] => ok [],
            [[1, true, "x"]] => ok ["1", "true", "x"],
            [["é", "", "👋"]] => ok ["é", "👋"],
            [["a", ["b"]]] => err "argument 1 must be a list of strings, but element 1 is list [\"b\"]",
            [["a", {}]] => err "element 1 is object",
            ["a,b"] => err "argument 1 must be a list, got string",
            [null] => err "argument 1 must be a list, got null",
            [] => err "takes 1 argument, got 0",
        ],
    );
}

#[test]
fn concat() {
    check(
        "concat",
        table![
            // doc
            [["a", ""], ["b", "c"]] => ok ["a", "", "b", "c"],
            // edge cases
            [["a"]] => ok ["a"],
            [[], []] => ok [],
            [[1], ["a"], [null, [2]]] => ok [1, "a", null, [2]],
            [["a"], "b"] => err "concat(): argument 2 must be a list, got string \"b\"",
            [["a"], null] => err "argument 2 must be a list, got null",
            [{"a": 1}] => err "argument 1 must be a list, got object",
            [] => err "takes at least 1 argument, got 0",
        ],
    );
}

#[test]
fn contains() {
    check(
        "contains",
        table![
            // doc
            [["a", "b", "c"], "a"] => ok true,
            [["a", "b", "c"], "d"] => ok false,
            // edge cases
            [[], "a"] => ok false,
            [[1, 2], 2] => ok true,
            [[1, 2], 2.0] => ok true,
            [["1"], 1] => ok false,
            [[null], null] => err "contains(): argument 2 must not be null",
            [[["a"]], ["a"]] => ok true,
            [[{"a": 1, "b": 2}], {"b": 2, "a": 1}] => ok true,
            [["héllo", "👋"], "👋"] => ok true,
            ["abc", "a"] => err "argument 1 must be a list, got string \"abc\"",
            [null, "a"] => err "argument 1 must be a list, got null",
            [["a"]] => err "takes 2 arguments, got 1",
        ],
    );
}

#[test]
fn distinct() {
    check(
        "distinct",
        table![
            // doc
            [["a", "b", "a", "c", "d", "b"]] => ok ["a", "b", "c", "d"],
            // edge cases
            [[]] => ok [],
            [[1, 1.0, 2, 1]] => ok [1, 2],
            [["1", 1]] => ok ["1"],
            [[null, null, "a"]] => ok [null, "a"],
            [[[1], [1], [2]]] => ok [[1], [2]],
            [[{"a": 1, "b": 2}, {"b": 2, "a": 1}]] => ok [{"a": 1, "b": 2}],
            [["é", "e\u{301}", "é"]] => ok ["é", "e\u{301}"],
            [[1, true]] => err "argument 1 all values must have the same type, but found number and bool",
            ["abc"] => err "argument 1 must be a list, got string",
            [] => err "takes 1 argument",
        ],
    );
}

#[test]
fn element() {
    check(
        "element",
        table![
            // doc
            [["a", "b", "c"], 1] => ok "b",
            [["a", "b", "c"], 3] => ok "a",
            [["a", "b", "c"], 2] => ok "c",
            // edge cases
            [["a", "b", "c"], 0] => ok "a",
            [["a", "b", "c"], 7] => ok "b",
            [["a", "b", "c"], "1"] => ok "b",
            [["a", "b", "c"], 9223372036854775807i64] => ok "b",
            [[null], 5] => ok null,
            [[[1, 2]], 0] => ok [1, 2],
            [["a", "b", "c"], -1] => err "argument 2 must not be negative, got -1",
            [[], 0] => err "element(): cannot take an element of an empty list",
            [["a"], 1.5] => err "argument 2 must be a whole number, got number 1.5",
            [["a"], "x"] => err "argument 2 must be a whole number, got string \"x\"",
            [["a"], null] => err "argument 2 must be a whole number, got null",
            [{"a": 1}, 0] => err "argument 1 must be a list, got object",
            ["abc", 0] => err "argument 1 must be a list, got string \"abc\"",
            [["a"]] => err "takes 2 arguments, got 1",
        ],
    );
}

#[test]
fn flatten() {
    check(
        "flatten",
        table![
            // doc
            [[["a", "b"], [], ["c"]]] => ok ["a", "b", "c"],
            [[[["a", "b"], []], ["c"]]] => ok ["a", "b", "c"],
            // edge cases
            [[]] => ok [],
            [[[], [[]], [[[]]]]] => ok [],
            [["a", ["b", ["c", ["d"]]]]] => ok ["a", "b", "c", "d"],
            [[null, [null]]] => ok [null, null],
            [[{"a": [1]}, [{"b": 2}]]] => ok [{"a": [1]}, {"b": 2}],
            ["abc"] => err "argument 1 must be a list, got string",
            [{"a": [1]}] => err "argument 1 must be a list, got object",
            [] => err "takes 1 argument",
        ],
    );
}

#[test]
fn index() {
    check(
        "index",
        table![
            // doc
            [["a", "b", "c"], "b"] => ok 1,
            // edge cases
            [["a", "b", "a"], "a"] => ok 0,
            [[1, 2, 3], 3] => ok 2,
            [[1, 2, 3], 3.0] => ok 2,
            [[[1], [2]], [2]] => ok 1,
            [["héllo", "👋"], "👋"] => ok 1,
            [[null, "x"], "x"] => ok 1,
            [["a"], null] => err "index(): argument 2 must not be null",
            [["a", "b"], "z"] => err "index(): the value \"z\" was not found in the list",
            [[], "a"] => err "was not found",
            [["1"], 1] => err "was not found",
            // Phobos: index(map, key) returns the element at the key
            [{"a": 1, "b": [2]}, "b"] => ok [2],
            [{"1": "one"}, 1] => ok "one",
            [{"a": 1}, "z"] => err "index(): the map has no key \"z\"",
            [{"a": 1}, ["a"]] => err "argument 2 must be a string, got list",
            ["abc", "a"] => err "argument 1 must be a list or a map, got string \"abc\"",
            [null, "a"] => err "argument 1 must be a list or a map, got null",
            [["a"]] => err "takes 2 arguments, got 1",
        ],
    );
}

#[test]
fn keys() {
    check(
        "keys",
        table![
            // doc
            [{"a": 1, "c": 2, "d": 3}] => ok ["a", "c", "d"],
            // edge cases
            [{"d": 1, "a": 2, "c": 3}] => ok ["a", "c", "d"],
            [{}] => ok [],
            [{"b": 1, "B": 2, "é": 3, "": 4}] => ok ["", "B", "b", "é"],
            [["a"]] => err "argument 1 must be a map or object, got list",
            ["a"] => err "argument 1 must be a map or object, got string \"a\"",
            [null] => err "got null",
            [] => err "takes 1 argument",
        ],
    );
}

#[test]
fn length() {
    check(
        "length",
        table![
            // doc
            [[]] => ok 0,
            [["a", "b"]] => ok 2,
            [{"a": "b"}] => ok 1,
            ["hello"] => ok 5,
            // Grapheme clusters, as Terraform counts: "🕹️" (U+1F579 U+FE0F) is one.
            ["👾🕹️"] => ok 2,
            // edge cases
            [""] => ok 0,
            ["héllo"] => ok 5,
            ["日本語"] => ok 3,
            [[null, null]] => ok 2,
            [{}] => ok 0,
            [5] => err "argument 1 must be a list, a map or a string, got number 5",
            [true] => err "got bool true",
            [null] => err "got null",
            [] => err "takes 1 argument",
        ],
    );
}

#[test]
fn lookup() {
    check(
        "lookup",
        table![
            // doc
            [{"a": "ay", "b": "bee"}, "a", "what?"] => ok "ay",
            [{"a": "ay", "b": "bee"}, "c", "what?"] => ok "what?",
            // edge cases
            [{"a": "ay"}, "a"] => ok "ay",
            [{"a": null}, "a", "x"] => ok null,
            [{"1": "one"}, 1] => ok "one",
            [{}, "a", null] => ok null,
            [{"é": [1]}, "é", []] => ok [1],
            [{"a": "ay"}, "c"] => err "lookup(): the map has no key \"c\" and no default was given",
            [["a"], "a", "x"] => err "argument 1 must be a map or object, got list",
            [{"a": 1}, ["a"], "x"] => err "argument 2 must be a string, got list",
            [{"a": 1}, null, "x"] => err "argument 2 must be a string, got null",
            [{"a": 1}] => err "takes 2 or 3 arguments, got 1",
            [{"a": 1}, "a", 1, 2] => err "takes 2 or 3 arguments, got 4",
        ],
    );
}

#[test]
fn merge() {
    check(
        "merge",
        table![
            // doc
            [{"a": "b", "c": "d"}, {"e": "f", "c": "z"}] => ok {"a": "b", "c": "z", "e": "f"},
            [{"a": "b"}, {"a": [1, 2], "c": "z"}, {"d": 3}] => ok {"a": [1, 2], "c": "z", "d": 3},
            // edge cases
            [] => ok {},
            [{}] => ok {},
            [null, {"a": 1}, null] => ok {"a": 1},
            [{"a": 1}, {"a": null}] => ok {"a": null},
            [{"é": 1}, {"👋": 2}] => ok {"é": 1, "👋": 2},
            [{"a": 1}, ["b"]] => err "merge(): argument 2 must be a map or object, got list [\"b\"]",
            ["a"] => err "argument 1 must be a map or object, got string \"a\"",
        ],
    );
}

#[test]
fn range() {
    check(
        "range",
        table![
            // doc
            [3] => ok [0, 1, 2],
            [1, 4] => ok [1, 2, 3],
            [1, 8, 2] => ok [1, 3, 5, 7],
            [1, 4, 0.5] => ok [1, 1.5, 2, 2.5, 3, 3.5],
            [4, 1] => ok [4, 3, 2],
            [10, 5, -2] => ok [10, 8, 6],
            // edge cases
            [0] => ok [],
            [-3] => ok [0, -1, -2],
            [1, 1] => ok [],
            [0, 1, 0.25] => ok [0, 0.25, 0.5, 0.75],
            [0, 0.5, 0.1] => ok [0, 0.1, 0.2, 0.3, 0.4],
            [1, 0, -0.25] => ok [1, 0.75, 0.5, 0.25],
            [2.5] => ok [0, 1, 2],
            ["3"] => ok [0, 1, 2],
            [0, 1025] => err "more than 1024 values would be generated",
            [0, 3, 0] => err "range(): argument 3 must not be zero",
            [0, 3, -1] => err "argument 2 must not be greater than the start (0) when the step is negative",
            [3, 0, 1] => err "argument 2 must not be less than the start (3) when the step is positive",
            [0, -3, 1] => err "when the step is positive",
            [3, 5, -1] => err "argument 2 must not be greater than the start (3) when the step is negative",
            ["x"] => err "argument 1 must be a number, got string \"x\"",
            [1, null] => err "argument 2 must be a number, got null",
            [1, 2, [1]] => err "argument 3 must be a number, got list",
            [] => err "takes 1, 2 or 3 arguments, got 0",
            [1, 2, 3, 4] => err "takes 1, 2 or 3 arguments, got 4",
        ],
    );
    // Exactly Terraform's limit of 1024 values is fine.
    match call("range", args(json!([0, 1024])), &ctx()) {
        Ok(Value::Array(a)) => assert_eq!(a.len(), 1024),
        other => panic!("{other:?}"),
    }
}

#[test]
fn reverse() {
    check(
        "reverse",
        table![
            // doc
            [[1, 2, 3]] => ok [3, 2, 1],
            // edge cases
            [[]] => ok [],
            [["a"]] => ok ["a"],
            [[null, [1, 2], "é"]] => ok ["é", [1, 2], null],
            ["abc"] => err "argument 1 must be a list, got string \"abc\"",
            [{"a": 1}] => err "must be a list, got object",
            [] => err "takes 1 argument",
        ],
    );
}

#[test]
fn setintersection() {
    check(
        "setintersection",
        table![
            // doc
            [["a", "b"], ["b", "c"], ["b", "d"]] => ok ["b"],
            // edge cases
            [["b", "a", "b"]] => ok ["a", "b"],
            [["a"], []] => ok [],
            [[], ["a"]] => ok [],
            [[3, 1, 2, 10], [10, 2, 3]] => ok [2, 3, 10],
            [["1", "2"], [1]] => ok ["1"],
            [[[1], [2]], [[2]]] => ok [[2]],
            [["é", "👋"], ["👋"]] => ok ["👋"],
            [["a"], "a"] => err "argument 2 must be a list, got string \"a\"",
            [["a", "true"], [true]] => ok ["true"],
            [[1], [[1]]] => err "found number and list",
            [] => err "takes at least 1 argument, got 0",
        ],
    );
}

#[test]
fn setproduct() {
    check(
        "setproduct",
        table![
            // doc
            [["development", "staging", "production"], ["app1", "app2"]] => ok [
                ["development", "app1"], ["development", "app2"],
                ["staging", "app1"], ["staging", "app2"],
                ["production", "app1"], ["production", "app2"]
            ],
            [["staging", "production"], ["a", "b"], ["c"]] => ok [
                ["staging", "a", "c"], ["staging", "b", "c"],
                ["production", "a", "c"], ["production", "b", "c"]
            ],
            // edge cases
            [["a"], []] => ok [],
            [[], ["a"]] => ok [],
            [["a"], ["b"]] => ok [["a", "b"]],
            [[1, [2]], [null]] => ok [[1, null], [[2], null]],
            [["a"], "b"] => err "argument 2 must be a list, got string \"b\"",
            [["a"]] => err "takes at least 2 arguments, got 1",
        ],
    );
}

#[test]
fn setunion() {
    check(
        "setunion",
        table![
            // doc (Terraform returns a set; sets of strings are ordered lexically)
            [["a", "b"], ["b", "c"], ["d"]] => ok ["a", "b", "c", "d"],
            // edge cases
            [[]] => ok [],
            [["b", "a", "a"]] => ok ["a", "b"],
            [[10, 9], [1.5]] => ok [1.5, 9, 10],
            [[true], [false, true]] => ok [false, true],
            [["a"], [1]] => ok ["1", "a"],
            // go-cty orders lists by their hash bytes: "<1;>" before "<2;>" (Terraform 1.11).
            [[[2], [1]], [[1]]] => ok [[1], [2]],
            [["é"], ["e", "👋"]] => ok ["e", "é", "👋"],
            [["a"], null] => err "argument 2 must be a list, got null",
            [[1], [[1]]] => err "found number and list",
            [] => err "takes at least 1 argument, got 0",
        ],
    );
}

#[test]
fn slice() {
    check(
        "slice",
        table![
            // doc
            [["a", "b", "c", "d"], 1, 3] => ok ["b", "c"],
            // edge cases
            [["a", "b", "c", "d"], 0, 4] => ok ["a", "b", "c", "d"],
            [["a", "b"], 1, 1] => ok [],
            [["a", "b"], 2, 2] => ok [],
            [[], 0, 0] => ok [],
            [["a", "b", "c"], "1", "2"] => ok ["b"],
            [["a", "b"], -1, 1] => err "argument 2 (start index) must not be negative, got -1",
            [["a", "b"], 0, -1] => err "argument 3 (end index) must not be negative",
            [["a", "b"], 3, 3] => err "argument 2 (start index) must not be greater than the length of the list (2), got 3",
            [["a", "b"], 0, 3] => err "argument 3 (end index) must not be greater than the length of the list (2), got 3",
            [["a", "b"], 2, 1] => err "slice(): the start index (2) must not be greater than the end index (1)",
            [["a", "b"], 0.5, 1] => err "argument 2 must be a whole number, got number 0.5",
            ["ab", 0, 1] => err "argument 1 must be a list, got string \"ab\"",
            [["a"], 0] => err "takes 3 arguments, got 2",
        ],
    );
}

#[test]
fn sort() {
    check(
        "sort",
        table![
            // doc
            [["e", "d", "a", "x"]] => ok ["a", "d", "e", "x"],
            // edge cases: numbers sort as strings, as in Terraform
            [[3, 10, 1]] => ok ["1", "10", "3"],
            [[]] => ok [],
            [["b", "B", "a", "é", ""]] => ok ["", "B", "a", "b", "é"],
            [[true, "a"]] => ok ["a", "true"],
            [["a", null]] => err "argument 1 must be a list of strings, but element 1 is null",
            [[["a"]]] => err "element 0 is list",
            ["abc"] => err "argument 1 must be a list, got string",
            [] => err "takes 1 argument",
        ],
    );
}

#[test]
fn values() {
    check(
        "values",
        table![
            // doc
            [{"a": 3, "c": 2, "d": 1}] => ok [3, 2, 1],
            // edge cases
            [{"d": 1, "a": 3, "c": 2}] => ok [3, 2, 1],
            [{}] => ok [],
            [{"b": [1], "a": null}] => ok [null, [1]],
            [["a"]] => err "argument 1 must be a map or object, got list",
            [null] => err "got null",
            [] => err "takes 1 argument",
        ],
    );
}

#[test]
fn zipmap() {
    check(
        "zipmap",
        table![
            // doc
            [["a", "b"], [1, 2]] => ok {"a": 1, "b": 2},
            [["a", "b"], [[1, 2], [3, 4]]] => ok {"a": [1, 2], "b": [3, 4]},
            // edge cases
            [[], []] => ok {},
            [["a", "a"], [1, 2]] => ok {"a": 2},
            [[1, true], ["x", "y"]] => ok {"1": "x", "true": "y"},
            [["é"], [null]] => ok {"é": null},
            [["a", "b"], [1]] => err "zipmap(): the number of keys (2) does not match the number of values (1)",
            [[null], [1]] => err "argument 1 must be a list of strings, but element 0 is null",
            [[["a"]], [1]] => err "element 0 is list",
            ["a", [1]] => err "argument 1 must be a list, got string",
            [["a"], {"a": 1}] => err "argument 2 must be a list, got object",
            [["a"]] => err "takes 2 arguments, got 1",
        ],
    );
}

// ---------------------------------------------------------------------------
// Date and time functions

#[test]
fn formatdate() {
    check(
        "formatdate",
        table![
            // doc
            ["DD MMM YYYY hh:mm ZZZ", "2018-01-02T23:12:01Z"] => ok "02 Jan 2018 23:12 UTC",
            ["EEEE, DD-MMM-YY hh:mm:ss ZZZ", "2018-01-02T23:12:01Z"] => ok "Tuesday, 02-Jan-18 23:12:01 UTC",
            ["EEE, DD MMM YYYY hh:mm:ss ZZZ", "2018-01-02T23:12:01-08:00"] => ok "Tue, 02 Jan 2018 23:12:01 -0800",
            ["MMM DD, YYYY", "2018-01-02T23:12:01Z"] => ok "Jan 02, 2018",
            ["HH:mmaa", "2018-01-02T23:12:01Z"] => ok "11:12pm",
            ["h'h'mm", "2018-01-02T23:12:01-08:00"] => ok "23h12",
            ["H 'o''clock'", "2018-01-02T23:12:01-08:00"] => ok "11 o'clock",
            ["YYYY-MM-DD'T'hh:mm:ssZ", "2018-01-02T23:12:01Z"] => ok "2018-01-02T23:12:01Z",
            // every sequence
            ["YYYY YY MMMM MMM MM M DD D EEEE EEE", "2006-01-02T15:04:05Z"] => ok "2006 06 January Jan 01 1 02 2 Monday Mon",
            ["hh h HH H AA aa mm m ss s", "2006-01-02T03:04:05Z"] => ok "03 3 03 3 AM am 04 4 05 5",
            ["HH H", "2006-01-02T00:00:00Z"] => ok "12 12",
            ["HH AA", "2006-01-02T12:00:00Z"] => ok "12 PM",
            ["ZZZZZ ZZZZ ZZZ Z", "2006-01-02T15:04:05+05:30"] => ok "+05:30 +0530 +0530 +05:30",
            ["ZZZZZ ZZZZ ZZZ Z", "2006-01-02T15:04:05Z"] => ok "+00:00 +0000 UTC Z",
            ["ZZZ Z", "2006-01-02T15:04:05+00:00"] => ok "UTC Z",
            ["ZZZZZ", "2006-01-02T15:04:05-00:30"] => ok "-00:30",
            ["MMMM", "2006-09-02T15:04:05Z"] => ok "September",
            ["EEEE", "2024-02-29T00:00:00Z"] => ok "Thursday",
            // literals, quotes and non-ASCII
            ["", "2018-01-02T23:12:01Z"] => ok "",
            ["''", "2018-01-02T23:12:01Z"] => ok "'",
            ["'It''s' D", "2018-01-02T23:12:01Z"] => ok "It's 2",
            ["'Tag' DD · 👋 😀", "2018-01-02T23:12:01Z"] => ok "Tag 02 · 👋 😀",
            ["D'é'M", "2018-01-02T23:12:01Z"] => ok "2é1",
            ["YYYY", "2018-01-02T23:12:01.123456789Z"] => ok "2018",
            ["YYYY", "0001-01-01T00:00:00Z"] => ok "0001",
            // invalid specs
            ["'unterminated", "2018-01-02T23:12:01Z"] => err "argument 1 has an unterminated quoted literal",
            ["YYY", "2018-01-02T23:12:01Z"] => err "argument 1 has an invalid sequence \"YYY\"",
            ["MMMMM", "2018-01-02T23:12:01Z"] => err "invalid sequence \"MMMMM\"",
            ["DDD", "2018-01-02T23:12:01Z"] => err "invalid sequence \"DDD\"",
            ["E", "2018-01-02T23:12:01Z"] => err "invalid sequence \"E\"",
            ["hhh", "2018-01-02T23:12:01Z"] => err "invalid sequence \"hhh\"",
            ["A", "2018-01-02T23:12:01Z"] => err "invalid sequence \"A\"",
            ["ZZ", "2018-01-02T23:12:01Z"] => err "invalid sequence \"ZZ\"",
            ["Today", "2018-01-02T23:12:01Z"] => err "invalid sequence \"T\"",
            ["x", "2018-01-02T23:12:01Z"] => err "invalid sequence \"x\"",
            // invalid timestamps
            ["YYYY", "2018-01-02"] => err "argument 2 is not a valid RFC 3339 timestamp",
            ["YYYY", "2018-01-02 23:12:01Z"] => err "expected 'T' between the date and the time",
            ["YYYY", "2018-01-02t23:12:01Z"] => err "not a valid RFC 3339",
            ["YYYY", "2018-01-02T23:12:01"] => err "missing UTC offset",
            ["YYYY", "2018-01-02T23:12:01z"] => err "missing UTC offset",
            ["YYYY", "2018-02-30T23:12:01Z"] => err "no such date",
            ["YYYY", "2018-13-01T23:12:01Z"] => err "no such date",
            ["YYYY", "2018-01-02T24:00:00Z"] => err "time of day out of range",
            ["YYYY", "2018-01-02T23:60:00Z"] => err "time of day out of range",
            ["YYYY", "2018-01-02T23:59:60Z"] => err "time of day out of range",
            ["YYYY", "2018-01-02T23:12:01+25:00"] => err "UTC offset out of range",
            ["YYYY", "2018-01-02T23:12:01+0100"] => err "not a valid RFC 3339",
            ["YYYY", "2018-01-02T23:12:01Zjunk"] => err "unexpected text",
            ["YYYY", "2018-01-02T23:12:01.Z"] => err "missing digits after the decimal point",
            ["YYYY", "١٢٣٤-01-02T23:12:01Z"] => err "not a valid RFC 3339",
            ["YYYY", ""] => err "not a valid RFC 3339",
            ["YYYY", 5] => err "not a valid RFC 3339",
            ["YYYY", null] => err "argument 2 must be a string, got null",
            [["YYYY"], "2018-01-02T23:12:01Z"] => err "argument 1 must be a string, got list",
            ["YYYY"] => err "takes 2 arguments, got 1",
        ],
    );
}

#[test]
fn timeadd() {
    check(
        "timeadd",
        table![
            // doc
            ["2017-11-22T00:00:00Z", "10m"] => ok "2017-11-22T00:10:00Z",
            // edge cases
            ["2017-11-22T00:00:00Z", "-1h"] => ok "2017-11-21T23:00:00Z",
            ["2017-11-22T00:00:00Z", "1h30m10s"] => ok "2017-11-22T01:30:10Z",
            ["2017-11-22T00:00:00Z", "0"] => ok "2017-11-22T00:00:00Z",
            ["2017-11-22T00:00:00Z", "1.5h"] => ok "2017-11-22T01:30:00Z",
            ["2017-11-22T00:00:00Z", "300ms"] => ok "2017-11-22T00:00:00Z",
            ["2017-11-22T00:00:00.9Z", "200ms"] => ok "2017-11-22T00:00:01Z",
            ["2017-11-22T00:00:00+05:30", "1h"] => ok "2017-11-22T01:00:00+05:30",
            ["2017-11-22T00:00:00-08:00", "24h"] => ok "2017-11-23T00:00:00-08:00",
            ["2017-11-22T00:00:00+00:00", "10m"] => ok "2017-11-22T00:10:00Z",
            ["2016-02-28T12:00:00Z", "24h"] => ok "2016-02-29T12:00:00Z",
            ["9999-12-31T23:59:59Z", "1s"] => ok "10000-01-01T00:00:00Z",
            ["0001-01-01T00:00:00Z", "-2562047h"] => ok "-0292-09-22T01:00:00Z",
            ["2017-11-22T00:00:00Z", "5x"] => err "timeadd(): argument 2 is an invalid duration \"5x\": unknown unit \"x\"; expected a number followed by a unit",
            ["2017-11-22T00:00:00Z", ""] => err "argument 2 is an invalid duration \"\"",
            ["2017-11-22T00:00:00Z", "10"] => err "missing unit",
            ["2017-11-22T00:00:00Z", "3000000h"] => err "too large",
            ["2017-11-22", "10m"] => err "argument 1 is not a valid RFC 3339 timestamp",
            ["2017-11-22T00:00:00Z", ["10m"]] => err "argument 2 must be a string, got list",
            [null, "10m"] => err "argument 1 must be a string, got null",
            ["2017-11-22T00:00:00Z"] => err "takes 2 arguments, got 1",
        ],
    );
}

#[test]
fn timestamp() {
    check(
        "timestamp",
        table![
            // doc format; the value is the pipeline creation time from the context
            [] => ok "2018-05-13T07:44:12Z",
            [1] => err "timestamp() takes no arguments, got 1",
        ],
    );
}

// ---------------------------------------------------------------------------
// Encoding functions

#[test]
fn jsondecode() {
    check(
        "jsondecode",
        table![
            // doc
            ["{\"hello\": \"world\"}"] => ok {"hello": "world"},
            ["true"] => ok true,
            // edge cases
            ["null"] => ok null,
            ["1"] => ok 1,
            ["-1.5e3"] => ok (-1500),
            ["0.1"] => ok 0.1,
            ["18446744073709551615"] => ok 18446744073709551615u64,
            ["\"héllo \\u00e9 👋\""] => ok "héllo é 👋",
            ["[1, \"a\", null, [], {}]"] => ok [1, "a", null, [], {}],
            [" {\"b\": 1, \"a\": {\"c\": [true]}} "] => ok {"b": 1, "a": {"c": [true]}},
            [5] => ok 5,
            // Lone UTF-16 surrogates become U+FFFD, as in Go; pairs and
            // escaped backslashes stay what they are.
            ["\"\\ud83d\""] => ok "\u{fffd}",
            ["\"a\\udc00b\\ud800\""] => ok "a\u{fffd}b\u{fffd}",
            ["\"\\ud83d\\ude00\""] => ok "😀",
            ["\"\\\\ud83d\""] => ok "\\ud83d",
            ["{\"\\ud83d\": \"\\u00e9\"}"] => ok {"\u{fffd}": "é"},
            ["1e5000"] => err "out of range",
            ["{"] => err "argument 1 must be valid JSON, got string \"{\"",
            [""] => err "must be valid JSON",
            ["[1,]"] => err "must be valid JSON",
            ["{} x"] => err "must be valid JSON",
            ["NaN"] => err "must be valid JSON",
            [[]] => err "argument 1 must be a string, got list",
            [null] => err "argument 1 must be a string, got null",
            [] => err "takes 1 argument",
        ],
    );
    // Nesting beyond serde_json's limit is an error, not a crash.
    let deep = format!("{}{}", "[".repeat(100_000), "]".repeat(100_000));
    assert!(call("jsondecode", vec![Value::String(deep)], &ctx()).is_err());
}

#[test]
fn jsonencode() {
    check(
        "jsonencode",
        table![
            // doc
            [{"hello": "world"}] => ok "{\"hello\":\"world\"}",
            // edge cases
            [null] => ok "null",
            [true] => ok "true",
            [1] => ok "1",
            [1.0] => ok "1",
            [-1.5] => ok "-1.5",
            [0.1] => ok "0.1",
            [1e21] => ok "1000000000000000000000",
            [1e-7] => ok "0.0000001",
            [18446744073709551615u64] => ok "18446744073709551615",
            [-9223372036854775808i64] => ok "-9223372036854775808",
            [""] => ok "\"\"",
            ["héllo 👋"] => ok "\"héllo 👋\"",
            ["a\"b\\c\nd\te\r\u{1}\u{8}\u{c}"] => ok "\"a\\\"b\\\\c\\nd\\te\\r\\u0001\\b\\f\"",
            ["<a href='x'>&</a>\u{2028}\u{2029}"] => ok "\"\\u003ca href='x'\\u003e\\u0026\\u003c/a\\u003e\\u2028\\u2029\"",
            [[]] => ok "[]",
            [{}] => ok "{}",
            [[1, "a", null, [true]]] => ok "[1,\"a\",null,[true]]",
            [{"b": 1, "a": {"d": 2, "c": [3]}, "é": 0, "B": 0}] => ok "{\"B\":0,\"a\":{\"c\":[3],\"d\":2},\"b\":1,\"é\":0}",
            [] => err "takes 1 argument, got 0",
            [1, 2] => err "takes 1 argument, got 2",
        ],
    );
}

// ---------------------------------------------------------------------------
// String functions

#[test]
fn chomp() {
    check(
        "chomp",
        table![
            // doc
            ["hello\n"] => ok "hello",
            ["hello\r\n"] => ok "hello",
            ["hello\n\n"] => ok "hello",
            // edge cases
            ["hello"] => ok "hello",
            [""] => ok "",
            ["\n"] => ok "",
            ["a\nb\r\n\r\n"] => ok "a\nb",
            ["a\r"] => ok "a",
            ["a\n "] => ok "a\n ",
            ["héllo 👋\n"] => ok "héllo 👋",
            [5] => ok "5",
            [["a"]] => err "chomp(): argument 1 must be a string, got list [\"a\"]",
            [null] => err "argument 1 must be a string, got null",
            [] => err "takes 1 argument",
        ],
    );
}

#[test]
fn format() {
    check(
        "format",
        table![
            // doc
            ["Hello, %s!", "Ander"] => ok "Hello, Ander!",
            ["There are %d lights", 4] => ok "There are 4 lights",
            // cty's tests: plain text and %%
            [""] => ok "",
            ["hello"] => ok "hello",
            ["100%% successful"] => ok "100% successful",
            ["100%%"] => ok "100%",
            ["%%%v", false] => ok "%false",
            // %v and %#v
            ["string %v", "hello"] => ok "string hello",
            ["string %[2]v", true, "hello"] => ok "string hello",
            ["string %#v", "hello"] => ok "string \"hello\"",
            ["number %v", 2] => ok "number 2",
            ["number %#v", 2] => ok "number 2",
            ["number %v", 1.5] => ok "number 1.5",
            ["number %v", 1000000] => ok "number 1e+06",
            ["number %v", 123456] => ok "number 123456",
            ["number %v", -0.00001] => ok "number -1e-05",
            ["bool %v", true] => ok "bool true",
            ["bool %#v", true] => ok "bool true",
            ["object %v", {}] => ok "object {}",
            ["tuple %v", []] => ok "tuple []",
            ["%v", {"b": [1, "x"], "a": null}] => ok "{\"a\":null,\"b\":[1,\"x\"]}",
            ["%v", null] => ok "null",
            ["%#v", null] => ok "null",
            ["%5v|%-5v|", "ab", 1] => ok "   ab|1    |",
            // strings
            ["Hello, %s!", "Ermintrude"] => ok "Hello, Ermintrude!",
            ["Hello, %[2]s!", "Stephen", "Ermintrude"] => ok "Hello, Ermintrude!",
            ["Hello, %q... if that _is_ your real name!", "Ermintrude"] => ok "Hello, \"Ermintrude\"... if that _is_ your real name!",
            ["This statement is %s", false] => ok "This statement is false",
            ["This statement is %q", false] => ok "This statement is \"false\"",
            ["%s", 1.5] => ok "1.5",
            ["%10s", "hello"] => ok "     hello",
            ["%-10s", "hello"] => ok "hello     ",
            ["%-5s|", "héllo"] => ok "héllo|",
            ["%6s", "héllo"] => ok " héllo",
            ["%3s", "👋"] => ok "  👋",
            ["%q", "💃🏿"] => ok "\"💃🏿\"",
            ["%.2s", "hello"] => ok "he",
            ["%.2q", "hello"] => ok "\"he\"",
            ["%.5s", "日本語日本語"] => ok "日本語日本",
            ["%.1q", "日本語日本語"] => ok "\"日\"",
            ["%.10s", "hello"] => ok "hello",
            ["%4.2s", "hello"] => ok "  he",
            ["%6.2q", "hello"] => ok "  \"he\"",
            ["%-4.2s", "hello"] => ok "he  ",
            ["%05s", "ab"] => ok "000ab",
            ["%q", "Hello\nWorld"] => ok "\"Hello\\nWorld\"",
            ["%q", "<&>"] => ok "\"\\u003c\\u0026\\u003e\"",
            // bools
            ["This statement is %t", false] => ok "This statement is false",
            ["This statement is %[2]t", true, false] => ok "This statement is false",
            ["This statement is %t", "false"] => ok "This statement is false",
            // integers
            ["%d green bottles", 10] => ok "10 green bottles",
            ["%[2]d things", 1, 10] => ok "10 things",
            ["%+d", 10] => ok "+10",
            ["% d", 10] => ok " 10",
            ["%5d|", 10] => ok "   10|",
            ["%-5d|", 10] => ok "10   |",
            ["%05d", -42] => ok "-0042",
            ["%05d", 42] => ok "00042",
            ["%.3d", 7] => ok "007",
            ["%6.3d", -7] => ok "  -007",
            ["%.0d", 0] => ok "",
            ["%d", "12"] => ok "12",
            ["%d", 3.0] => ok "3",
            ["%d", -9223372036854775808i64] => ok "-9223372036854775808",
            ["%d", 18446744073709551615u64] => ok "18446744073709551615",
            ["%d", 1e30] => ok "1000000000000000000000000000000",
            ["%b", 5] => ok "101",
            ["%o", 9] => ok "11",
            ["%x", 254] => ok "fe",
            ["%X", 254] => ok "FE",
            ["%#x %#X %#o %#b", 255, 255, 8, 5] => ok "0xff 0XFF 010 0b101",
            ["%x", -255] => ok "-ff",
            // floating point
            ["%f things", 10] => ok "10.000000 things",
            ["%[2]f things", 1, 10] => ok "10.000000 things",
            ["%+f", 10] => ok "+10.000000",
            ["% f", 10] => ok " 10.000000",
            ["%+f", -10] => ok "-10.000000",
            ["% f", -10] => ok "-10.000000",
            ["%f", "1.00000000000000000000000000000000000001"] => ok "1.000000",
            ["%.4f", "1.00000000000000000000000000000000000001"] => ok "1.0000",
            ["%.1f", "1.06"] => ok "1.1",
            ["%.2f", 3.14159] => ok "3.14",
            ["%05.2f", 3.14159] => ok "03.14",
            ["%8.2f|", -3.14159] => ok "   -3.14|",
            ["%-8.2f|", 3.14159] => ok "3.14    |",
            ["%.0f", 2.5] => ok "2",
            ["%e things", 1000] => ok "1.000000e+03 things",
            ["%E things", 1000] => ok "1.000000E+03 things",
            ["%.2e", 123456] => ok "1.23e+05",
            ["%e", 0] => ok "0.000000e+00",
            ["%e", 1e-300] => ok "1.000000e-300",
            ["%g things", 1000] => ok "1000 things",
            ["%G things", 1000] => ok "1000 things",
            ["%g things", "0.00000000000000000000001"] => ok "1e-23 things",
            ["%G things", "0.00000000000000000000001"] => ok "1E-23 things",
            ["%g", 1.5] => ok "1.5",
            ["%g", 0] => ok "0",
            ["%g", 100000000] => ok "1e+08",
            ["%g", 0.0001] => ok "0.0001",
            ["%g", 0.00001] => ok "1e-05",
            ["%.3g", 3.14159] => ok "3.14",
            ["%.3g", 1234567] => ok "1.23e+06",
            ["%.10g", 1234567] => ok "1234567",
            ["%.0g", 7.7] => ok "8",
            ["%g", -2.5] => ok "-2.5",
            ["%10.3g|", 3.14159] => ok "      3.14|",
            // unicode around verbs
            ["é%s👋", "ü"] => ok "éü👋",
            // errors
            ["%s", null] => err "format(): unsupported value for \"%s\" at 0: null value cannot be formatted",
            ["%d green bottles", true] => err "unsupported value for \"%d\" at 0: number required, got bool true",
            ["%d", "x"] => err "number required, got string \"x\"",
            ["%d", 1.5] => err "unsupported value for \"%d\" at 0: an integer is required",
            ["%f", [1]] => err "number required, got list",
            ["%s", {}] => err "unsupported value for \"%s\" at 0: string required, got object {}",
            ["%s", [1]] => err "string required, got list [1]",
            ["%t", 1] => err "bool required, got number 1",
            ["%s is not in the args list"] => err "not enough arguments for \"%s\" at 0: need index 1 but have 0 total",
            ["%[3]s is not in the args list", true, true] => err "not enough arguments for \"%[3]s\" at 0: need index 3 but have 2 total",
            ["%[0]s is not valid because args are 1-based", true, true] => err "unrecognized format character '0' at offset 2",
            ["%v %v %v", true, true] => err "not enough arguments for \"%v\" at 6: need index 3 but have 2 total",
            ["%z is not a valid sequence", 10] => err "unsupported format verb 'z' in \"%z\" at offset 0",
            ["%#z is not a valid sequence", 10] => err "unsupported format verb 'z' in \"%#z\" at offset 0",
            ["%012z is not a valid sequence", 10] => err "unsupported format verb 'z' in \"%012z\" at offset 0",
            ["%☠ is not a valid sequence", 10] => err "unrecognized format character '☠' at offset 1",
            ["%💃🏿 is not a valid sequence", 10] => err "unrecognized format character '💃' at offset 1",
            ["%", 1] => err "invalid format string starting at offset 0",
            ["abc %-", 1] => err "invalid format string starting at offset 4",
            ["%[1", 1] => err "invalid format string starting at offset 0",
            ["%[1x]d", 1] => err "unrecognized format character 'x' at offset 3",
            ["%.", 1] => err "invalid format string",
            ["no format verbs at all", 10] => err "too many arguments; no verbs in format string",
            ["only one verb %d", 10, 11] => err "too many arguments; only 1 used by format string",
            [null] => err "format(): argument 1 must be a string, got null",
            [["%s"], "a"] => err "argument 1 must be a string, got list",
            [] => err "format() takes at least 1 argument, got 0",
        ],
    );
}

#[test]
fn formatlist() {
    check(
        "formatlist",
        table![
            // doc
            ["Hello, %s!", ["Valentina", "Ander", "Olivia", "Sam"]] => ok ["Hello, Valentina!", "Hello, Ander!", "Hello, Olivia!", "Hello, Sam!"],
            ["%s, %s!", "Salutations", ["Valentina", "Ander", "Olivia", "Sam"]] => ok ["Salutations, Valentina!", "Salutations, Ander!", "Salutations, Olivia!", "Salutations, Sam!"],
            // cty's tests
            [""] => ok [""],
            ["hello"] => ok ["hello"],
            ["100%%"] => ok ["100%"],
            ["%s", "hello"] => ok ["hello"],
            ["%s", ["hello"]] => ok ["hello"],
            ["%s", ["hello", "world"]] => ok ["hello", "world"],
            ["%s %s", ["hello", "goodbye"], ["world", "universe"]] => ok ["hello world", "goodbye universe"],
            ["%s %s", ["hello", "goodbye"], "world"] => ok ["hello world", "goodbye world"],
            ["%s %s", "hello", ["world", "universe"]] => ok ["hello world", "hello universe"],
            ["%v", []] => ok [],
            ["%v", null] => ok ["null"],
            // edge cases
            ["%v=%v", {"a": 1}, [1, 2]] => ok ["{\"a\":1}=1", "{\"a\":1}=2"],
            ["%s-%d", ["é", "👋"], [1, 2]] => ok ["é-1", "👋-2"],
            ["%s", [], []] => ok [],
            ["%s %s", ["hello", "goodbye"], ["world"]] => err "formatlist(): argument 3 has length 1, which is inconsistent with argument 2 of length 2",
            ["%s", {}] => err "error on format iteration 0: unsupported value for \"%s\" at 0: string required",
            ["%d", ["1", "x"]] => err "error on format iteration 1: unsupported value for \"%d\" at 0: number required",
            ["%s %s", ["a"]] => err "not enough arguments",
            [null, ["a"]] => err "argument 1 must be a string, got null",
            [] => err "takes at least 1 argument, got 0",
        ],
    );
}

#[test]
fn indent() {
    check(
        "indent",
        table![
            // doc
            [2, "[\n  foo,\n  bar,\n]\n"] => ok "[\n    foo,\n    bar,\n  ]\n  ",
            // edge cases
            [4, "one line"] => ok "one line",
            [0, "a\nb"] => ok "a\nb",
            [1, ""] => ok "",
            [2, "a\r\nb"] => ok "a\r\n  b",
            ["3", "é\n👋"] => ok "é\n   👋",
            [2, 5] => ok "5",
            [9223372036854775807i64, "no newline"] => ok "no newline",
            [1000000000, "a\nb"] => err "indent(): the result would be longer than the limit of 10485760 bytes",
            [-1, "a\nb"] => err "indent(): argument 1 must not be negative, got -1",
            [1.5, "a"] => err "argument 1 must be a whole number, got number 1.5",
            ["x", "a"] => err "argument 1 must be a whole number, got string \"x\"",
            [2, ["a"]] => err "argument 2 must be a string, got list",
            [2, null] => err "argument 2 must be a string, got null",
            [2] => err "takes 2 arguments, got 1",
        ],
    );
}

#[test]
fn join() {
    check(
        "join",
        table![
            // doc
            ["-", ["foo", "bar", "baz"]] => ok "foo-bar-baz",
            [", ", ["foo", "bar", "baz"]] => ok "foo, bar, baz",
            [", ", ["foo"]] => ok "foo",
            // edge cases
            [", ", []] => ok "",
            ["", ["a", "b"]] => ok "ab",
            ["-", ["a"], ["b", "c"]] => ok "a-b-c",
            ["·", [1, true, "é"]] => ok "1·true·é",
            ["-", ["a", null]] => err "join(): argument 2 must be a list of strings, but element 1 is null",
            ["-", [["a"]]] => err "element 0 is list",
            ["-", "abc"] => err "argument 2 must be a list, got string \"abc\"",
            [["-"], ["a"]] => err "argument 1 must be a string, got list",
            ["-"] => err "takes at least 2 arguments, got 1",
        ],
    );
}

#[test]
fn lower() {
    check(
        "lower",
        table![
            // doc
            ["HELLO"] => ok "hello",
            ["АЛЛО!"] => ok "алло!",
            // edge cases
            [""] => ok "",
            ["HÉLLO 👋"] => ok "héllo 👋",
            ["ΣΑΣ"] => ok "σασ",
            [true] => ok "true",
            [["A"]] => err "argument 1 must be a string, got list",
            [null] => err "got null",
            [] => err "takes 1 argument",
        ],
    );
}

#[test]
fn regex_replace() {
    check(
        "regex_replace",
        table![
            ["hello world", "w.*d", "everybody"] => ok "hello everybody",
            ["1 + 2 + 3", "\\+", "-"] => ok "1 - 2 - 3",
            ["hello world", "(\\w+) (\\w+)", "$2 $1"] => ok "world hello",
            ["hello world", "(\\w+) (\\w+)", "${2}_$1"] => ok "world_hello",
            ["hello world", "(?P<first>\\w+) (?P<second>\\w+)", "$second $first"] => ok "world hello",
            // as in Go, "$1x" names a group "1x" (which does not exist); use ${1}x
            ["abc", "(b)", "$1x"] => ok "ac",
            ["abc", "(b)", "${1}x"] => ok "abxc",
            ["abc", "b", "$$"] => ok "a$c",
            ["aaa", "a*", "-"] => ok "-",
            ["abc", "", "-"] => ok "-a-b-c-",
            ["héllo", "é", "e"] => ok "hello",
            ["héllo", ".", "x"] => ok "xxxxx",
            ["👋👋", "👋", "hi"] => ok "hihi",
            ["no match", "z+", "y"] => ok "no match",
            ["", "x", "y"] => ok "",
            ["a.b", "\\.", "/"] => ok "a/b",
            ["ABC", "(?i)b", "x"] => ok "AxC",
            [123, "2", "x"] => ok "1x3",
            ["abc", "(", "x"] => err "regex_replace(): argument 2 must be a valid regular expression, got \"(\"",
            ["abc", "(\\w{1000}){1000}", "x"] => err "argument 2 must be a valid regular expression, got \"(\\\\w{1000}){1000}\" (the pattern is too large)",
            ["abc", "(?<=a)b", "x"] => err "must be a valid regular expression",
            ["abc", ["a"], "x"] => err "argument 2 must be a string, got list",
            [null, "a", "x"] => err "argument 1 must be a string, got null",
            ["abc", "a"] => err "takes 3 arguments, got 2",
        ],
    );
}

#[test]
fn replace() {
    check(
        "replace",
        table![
            // doc
            ["1 + 2 + 3", "+", "-"] => ok "1 - 2 - 3",
            ["hello world", "/w.*d/", "everybody"] => ok "hello everybody",
            // edge cases
            ["hello", "l", "L"] => ok "heLLo",
            ["hello", "", "-"] => ok "-h-e-l-l-o-",
            ["hello", "x", "y"] => ok "hello",
            ["", "", "x"] => ok "x",
            ["a/b/c", "/", "|"] => ok "a|b|c",
            // as in Terraform, "//" is the empty regular expression
            ["a//b", "//", "|"] => ok "|a|/|/|b|",
            ["a/b", "/", "|"] => ok "a|b",
            ["hello world", "/(\\w+) (\\w+)/", "$2 $1"] => ok "world hello",
            ["héllo wörld", "ö", "o"] => ok "héllo world",
            ["👋 there", "👋", "hi"] => ok "hi there",
            [1.5, ".", ","] => ok "1,5",
            ["abc", "/(/", "x"] => err "replace(): argument 2 must be a valid regular expression, got \"(\"",
            ["abc", null, "x"] => err "argument 2 must be a string, got null",
            ["abc", "b", ["x"]] => err "argument 3 must be a string, got list",
            ["abc", "b"] => err "takes 3 arguments, got 2",
        ],
    );
}

#[test]
fn split() {
    check(
        "split",
        table![
            // doc
            [",", "foo,bar,baz"] => ok ["foo", "bar", "baz"],
            [",", "foo"] => ok ["foo"],
            [",", ""] => ok [""],
            // edge cases
            [",", ",a,"] => ok ["", "a", ""],
            [", ", "a, b,c"] => ok ["a", "b,c"],
            ["", "héy👋"] => ok ["h", "é", "y", "👋"],
            ["", ""] => ok [],
            ["é", "aébéc"] => ok ["a", "b", "c"],
            [".", 1.5] => ok ["1", "5"],
            [[","], "a"] => err "argument 1 must be a string, got list",
            [",", null] => err "argument 2 must be a string, got null",
            [","] => err "takes 2 arguments, got 1",
        ],
    );
}

#[test]
fn strlen() {
    check(
        "strlen",
        table![
            ["hello"] => ok 5,
            [""] => ok 0,
            ["héllo"] => ok 5,
            ["e\u{301}"] => ok 2,
            ["👋🏽"] => ok 2,
            ["日本語"] => ok 3,
            [12345] => ok 5,
            [true] => ok 4,
            [["a"]] => err "strlen(): argument 1 must be a string, got list",
            [null] => err "argument 1 must be a string, got null",
            [] => err "takes 1 argument",
        ],
    );
}

#[test]
fn strrev() {
    check(
        "strrev",
        table![
            // doc
            ["hello"] => ok "olleh",
            ["a ☃"] => ok "☃ a",
            // edge cases
            [""] => ok "",
            ["héllo"] => ok "olléh",
            ["e\u{301}a"] => ok "ae\u{301}",
            ["a👋🏽b"] => ok "b👋🏽a",
            ["x👨\u{200d}👩\u{200d}👧y"] => ok "y👨\u{200d}👩\u{200d}👧x",
            ["日本語"] => ok "語本日",
            [123] => ok "321",
            [{}] => err "argument 1 must be a string, got object",
            [null] => err "got null",
            [] => err "takes 1 argument",
        ],
    );
}

#[test]
fn substr() {
    check(
        "substr",
        table![
            // doc
            ["hello world", 1, 4] => ok "ello",
            ["🤔🤷", 0, 1] => ok "🤔",
            ["hello world", -5, -1] => ok "world",
            ["hello world", 6, 10] => ok "world",
            // edge cases
            ["hello", 0, -1] => ok "hello",
            ["hello", 0, 0] => ok "",
            ["hello", 5, 1] => ok "",
            ["hello", 99, 1] => ok "",
            ["hello", -99, 2] => ok "he",
            ["hello", -1, 1] => ok "o",
            ["hello", 1, -2] => ok "ello",
            ["héllo", 1, 3] => ok "éll",
            ["", 0, 1] => ok "",
            ["hello", "1", "2"] => ok "el",
            ["hello", -9223372036854775808i64, 9223372036854775807i64] => ok "hello",
            ["hello", 1.5, 1] => err "substr(): argument 2 must be a whole number, got number 1.5",
            ["hello", 0, "x"] => err "argument 3 must be a whole number, got string \"x\"",
            [["hello"], 0, 1] => err "argument 1 must be a string, got list",
            [null, 0, 1] => err "argument 1 must be a string, got null",
            ["hello", 0] => err "takes 3 arguments, got 2",
        ],
    );
}

#[test]
fn title() {
    check(
        "title",
        table![
            // doc
            ["hello world"] => ok "Hello World",
            // edge cases
            [""] => ok "",
            ["hELLO wORLD"] => ok "HELLO WORLD",
            ["hello-world foo_bar x.y"] => ok "Hello-World Foo_bar X.Y",
            ["élan ünd 👋hi"] => ok "Élan Ünd 👋hi",
            ["straße"] => ok "Straße",
            ["ßa"] => ok "ßa",
            [5] => ok "5",
            [["a"]] => err "argument 1 must be a string, got list",
            [null] => err "got null",
            [] => err "takes 1 argument",
        ],
    );
}

#[test]
fn trim() {
    check(
        "trim",
        table![
            // doc
            ["?!hello?!", "!?"] => ok "hello",
            ["foobar", "far"] => ok "oob",
            ["   hello! world.!  ", "! "] => ok "hello! world.",
            // edge cases
            ["hello", ""] => ok "hello",
            ["", "abc"] => ok "",
            ["aaa", "a"] => ok "",
            ["éhelloé", "é"] => ok "hello",
            ["👋hi👋", "👋"] => ok "hi",
            [1001, 1] => ok "00",
            ["abc", null] => err "trim(): argument 2 must be a string, got null",
            [["a"], "a"] => err "argument 1 must be a string, got list",
            ["abc"] => err "takes 2 arguments, got 1",
        ],
    );
}

#[test]
fn trimprefix() {
    check(
        "trimprefix",
        table![
            // doc
            ["helloworld", "hello"] => ok "world",
            ["helloworld", "cat"] => ok "helloworld",
            // edge cases
            ["hellohello", "hello"] => ok "hello",
            ["hello", ""] => ok "hello",
            ["hello", "hello"] => ok "",
            ["héllo", "hé"] => ok "llo",
            [12345, 12] => ok "345",
            ["a", ["a"]] => err "trimprefix(): argument 2 must be a string, got list",
            ["a"] => err "takes 2 arguments, got 1",
        ],
    );
}

#[test]
fn trimsuffix() {
    check(
        "trimsuffix",
        table![
            // doc
            ["helloworld", "world"] => ok "hello",
            // edge cases
            ["helloworld", "cat"] => ok "helloworld",
            ["worldworld", "world"] => ok "world",
            ["hello", ""] => ok "hello",
            ["héllo👋", "👋"] => ok "héllo",
            [1.5, ".5"] => ok "1",
            [null, "a"] => err "trimsuffix(): argument 1 must be a string, got null",
            ["a"] => err "takes 2 arguments, got 1",
        ],
    );
}

#[test]
fn upper() {
    check(
        "upper",
        table![
            // doc
            ["hello"] => ok "HELLO",
            ["алло!"] => ok "АЛЛО!",
            // edge cases
            [""] => ok "",
            ["héllo 👋"] => ok "HÉLLO 👋",
            // one-to-one mappings only, as Go's strings.ToUpper
            ["straße"] => ok "STRAßE",
            [false] => ok "FALSE",
            [["a"]] => err "upper(): argument 1 must be a string, got list",
            [null] => err "got null",
            [] => err "takes 1 argument",
        ],
    );
}

// ---------------------------------------------------------------------------
// Numeric functions

#[test]
fn abs() {
    check(
        "abs",
        table![
            // doc
            [23] => ok 23,
            [0] => ok 0,
            [-12.4] => ok 12.4,
            // edge cases
            [-5] => ok 5,
            ["-3"] => ok 3,
            [-9223372036854775808i64] => ok 9223372036854775808u64,
            [18446744073709551615u64] => ok 18446744073709551615u64,
            [-1e300] => ok 1e300,
            ["x"] => err "abs(): argument 1 must be a number, got string \"x\"",
            [true] => err "argument 1 must be a number, got bool true",
            [null] => err "argument 1 must be a number, got null",
            [" 5"] => err "must be a number",
            // "inf" is +Inf in Terraform (Go's ParseFloat), "infinity" is not a number.
            ["infinity"] => err "must be a number",
            [] => err "takes 1 argument",
        ],
    );
}

#[test]
fn ceil() {
    check(
        "ceil",
        table![
            // doc
            [5] => ok 5,
            [5.1] => ok 6,
            // edge cases
            [-5.1] => ok (-5),
            [0.0001] => ok 1,
            ["2.5"] => ok 3,
            [18446744073709551615u64] => ok 18446744073709551615u64,
            [1e300] => ok 1e300,
            [[1]] => err "ceil(): argument 1 must be a number, got list [1]",
            [] => err "takes 1 argument",
        ],
    );
}

#[test]
fn floor() {
    check(
        "floor",
        table![
            // doc
            [5] => ok 5,
            [4.9] => ok 4,
            // edge cases
            [-4.1] => ok (-5),
            ["2.5"] => ok 2,
            [-9223372036854775808i64] => ok (-9223372036854775808i64),
            ["x"] => err "floor(): argument 1 must be a number, got string \"x\"",
            [] => err "takes 1 argument",
        ],
    );
}

/// A call's result as Terraform prints it (for numbers JSON cannot hold).
fn printed(name: &str, input: serde_json::Value) -> String {
    let got = call(name, args(input), &ctx()).expect("the call succeeds");
    crate::template::value::to_string(&got).expect("a primitive result")
}

#[test]
fn float64_results_print_as_terraform_prints_them() {
    // Each checked with `terraform console` (1.11): float64 functions give
    // float64 precision and infinities, exact functions keep every digit.
    assert_eq!(printed("log", json!([0, 10])), "-Inf");
    assert_eq!(printed("log", json!([10, 1])), "+Inf");
    assert_eq!(printed("pow", json!([3, 39])), "4052555153018976000");
    assert_eq!(printed("pow", json!([10, 400])), "+Inf");
    assert_eq!(printed("pow", json!([0, -1])), "+Inf");
    assert_eq!(printed("abs", json!(["inf"])), "+Inf");
    assert_eq!(
        printed("parseint", json!(["18446744073709551616", 10])),
        "18446744073709551616"
    );
}

#[test]
fn log() {
    check(
        "log",
        table![
            // doc
            [50, 10] => ok 1.6989700043360185,
            [16, 2] => ok 4,
            [1, 10] => ok 0,
            // edge cases
            ["100", "10"] => ok 2,
            [0.5, 2] => ok (-1),
            [-1, 10] => err "argument 1 must not be negative, got number -1",
            // Terraform: ln(10) / ln(0) is -0.
            [10, 0] => ok 0,
            [10, -2] => err "the result is not a number (NaN)",
            ["x", 10] => err "argument 1 must be a number, got string \"x\"",
            [10] => err "takes 2 arguments, got 1",
        ],
    );
}

#[test]
fn max() {
    check(
        "max",
        table![
            // doc
            [12, 54, 3] => ok 54,
            // edge cases
            [1] => ok 1,
            [-1, -5] => ok (-1),
            [1.5, 1] => ok 1.5,
            ["7", 3] => ok 7,
            [9223372036854775807i64, 9223372036854775806i64] => ok 9223372036854775807i64,
            [18446744073709551615u64, 1] => ok 18446744073709551615u64,
            [1, "x"] => err "max(): argument 2 must be a number, got string \"x\"",
            [1, null] => err "argument 2 must be a number, got null",
            [[1, 2]] => err "argument 1 must be a number, got list",
            [] => err "takes at least 1 argument, got 0",
        ],
    );
}

#[test]
fn min() {
    check(
        "min",
        table![
            // doc
            [12, 54, 3] => ok 3,
            // edge cases
            [1] => ok 1,
            [-1, -5] => ok (-5),
            [1.5, 2] => ok 1.5,
            ["-7", 3] => ok (-7),
            [-9223372036854775808i64, 0] => ok (-9223372036854775808i64),
            [1, true] => err "min(): argument 2 must be a number, got bool true",
            [] => err "takes at least 1 argument, got 0",
        ],
    );
}

#[test]
fn parseint() {
    check(
        "parseint",
        table![
            // doc
            ["100", 10] => ok 100,
            ["FF", 16] => ok 255,
            ["-10", 16] => ok (-16),
            ["1011111011101111", 2] => ok 48879,
            ["aA", 62] => ok 656,
            ["12", 2] => err "parseint(): argument 1 cannot be parsed as a base 2 integer: \"12\"",
            // edge cases
            ["ff", 16] => ok 255,
            ["+7", 8] => ok 7,
            ["0", 2] => ok 0,
            ["-0", 10] => ok 0,
            ["zz", 36] => ok 1295,
            ["ZZ", 36] => ok 1295,
            ["Z", 62] => ok 61,
            ["9223372036854775807", 10] => ok 9223372036854775807i64,
            ["-9223372036854775808", 10] => ok (-9223372036854775808i64),
            ["18446744073709551615", 10] => ok 18446744073709551615u64,
            ["100", "2"] => ok 4,
            ["", 10] => err "argument 1 cannot be parsed as a base 10 integer: \"\"",
            ["-", 10] => err "cannot be parsed",
            [" 1", 10] => err "cannot be parsed",
            ["1_000", 10] => err "cannot be parsed",
            ["1.5", 10] => err "cannot be parsed",
            ["é", 10] => err "cannot be parsed as a base 10 integer: \"é\"",
            ["10", 1] => err "argument 2 must be a whole number between 2 and 62, got 1",
            ["10", 63] => err "argument 2 must be a whole number between 2 and 62, got 63",
            ["10", 2.5] => err "argument 2 must be a whole number, got number 2.5",
            [100, 10] => err "argument 1 must be a string, got number 100",
            [null, 10] => err "argument 1 must be a string, got null",
            ["10"] => err "takes 2 arguments, got 1",
        ],
    );
    // Long inputs are exact; beyond the magnitudes kept (about 1e4932) they
    // are refused (a deliberate difference: Go's range is far larger).
    let ctx = ctx();
    let long = "1".repeat(2000);
    let got = call(
        "parseint",
        vec![Value::String(long.clone()), Value::from(10i64)],
        &ctx,
    );
    assert_eq!(
        got.ok().and_then(|v| crate::template::value::to_string(&v)),
        Some(long)
    );
    let huge = Value::String("1".repeat(5000));
    let err = call("parseint", vec![huge, Value::from(10i64)], &ctx).expect_err("too large");
    assert!(err.to_string().contains("out of range"), "{err}");
}

#[test]
fn pow() {
    check(
        "pow",
        table![
            // doc
            [3, 2] => ok 9,
            [4, 0] => ok 1,
            // edge cases
            [2, -1] => ok 0.5,
            [2, 0.5] => ok 1.4142135623730951,
            [-2, 3] => ok (-8),
            [0, 0] => ok 1,
            ["2", "10"] => ok 1024,
            [-8, 0.5] => err "the result is not a number",
            [2, "x"] => err "argument 2 must be a number, got string \"x\"",
            [2] => err "takes 2 arguments, got 1",
        ],
    );
}

#[test]
fn signum() {
    check(
        "signum",
        table![
            // doc
            [-13] => ok (-1),
            [0] => ok 0,
            [344] => ok 1,
            // edge cases
            [-0.5] => err "must be a whole number",
            [1e-300] => err "must be a whole number",
            ["-2"] => ok (-1),
            ["x"] => err "signum(): argument 1 must be a number, got string \"x\"",
            [null] => err "got null",
            [] => err "takes 1 argument",
        ],
    );
}

// ---------------------------------------------------------------------------
// Type conversions (Terraform's results for most are in tests/terraform)

#[test]
fn tostring() {
    check(
        "tostring",
        table![
            ["a"] => ok "a",
            [1.5] => ok "1.5",
            [true] => ok "true",
            [null] => ok null,
            [[1]] => err "argument 1 cannot be converted to a string, got list [1]",
            [{"a": 1}] => err "only a string, number or bool converts to a string",
            [] => err "takes 1 argument",
        ],
    );
}

#[test]
fn tonumber_and_tobool() {
    check(
        "tonumber",
        table![
            ["12"] => ok 12,
            [" 1"] => err "the string must be a decimal number",
            ["1e99999"] => err "out of range",
            [false] => err "only a number or a string converts to a number",
            [null] => ok null,
        ],
    );
    check(
        "tobool",
        table![
            ["true"] => ok true,
            ["0"] => ok false,
            [false] => ok false,
            ["True"] => err "write it in lowercase: \"true\"",
            ["FALSE"] => err "write it in lowercase: \"false\"",
            [1] => err "only a bool, or the string \"true\" or \"false\", converts to a bool",
        ],
    );
}

#[test]
fn tolist_toset_tomap() {
    check(
        "tolist",
        table![
            [[1, "a", true]] => ok ["1", "a", "true"],
            [[[1], ["a"]]] => ok [["1"], ["a"]],
            [[[1], [1, 2]]] => ok [[1], [1, 2]],
            [[{"a": 1}, {"a": "x"}]] => ok [{"a": "1"}, {"a": "x"}],
            [[1, [1]]] => err "argument 1 cannot be made a list of one type: all values must have the same type, but found number and list",
            ["a"] => err "only a list, tuple or set converts to a list",
            [null] => ok null,
        ],
    );
    check(
        "toset",
        table![
            [["b", "a", "b", 1]] => ok ["1", "a", "b"],
            [[2, 1, 2.0, null]] => ok [1, 2, null],
            [[false, true, false]] => ok [false, true],
            // Lists and objects in the order of go-cty's hash bytes.
            [[[3], [10], [2]]] => ok [[10], [2], [3]],
            [[{"a": "x"}, {"a": "b"}]] => ok [{"a": "b"}, {"a": "x"}],
            [[{"b": 1}, {"a": 2}]] => ok [{"a": 2}, {"b": 1}],
            [[{"a": 1}, 1]] => err "cannot be made a set of one type",
            [{"a": 1}] => err "only a list, tuple or set converts to a set",
        ],
    );
    check(
        "tomap",
        table![
            [{"b": 1, "a": "x"}] => ok {"a": "x", "b": "1"},
            [{"a": [1], "b": ["x"]}] => ok {"a": ["1"], "b": ["x"]},
            [{"a": 1, "b": [1]}] => err "cannot be made a map of one type",
            [[1]] => err "only a map or object converts to a map",
        ],
    );
}
