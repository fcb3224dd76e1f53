//! Table tests of the selector parser and evaluator.

use std::collections::BTreeMap;

use super::*;

fn labels(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

#[test]
fn evaluation_table() {
    let rr = labels(&[("route-reflector", "true"), ("zone", "a"), ("rack", "r12")]);
    let plain = labels(&[("zone", "b"), ("kubernetes.io/hostname", "n1")]);
    let none = labels(&[]);
    // (selector, matches rr, matches plain, matches none)
    let table: &[(&str, bool, bool, bool)] = &[
        ("", true, true, true),
        ("all()", true, true, true),
        ("all ( )", true, true, true),
        ("has(route-reflector)", true, false, false),
        ("!has(route-reflector)", false, true, true),
        ("! has( route-reflector )", false, true, true),
        ("zone == 'a'", true, false, false),
        ("zone == \"a\"", true, false, false),
        ("zone != 'a'", false, true, true),
        ("zone in {'a', 'c'}", true, false, false),
        ("zone in {}", false, false, false),
        ("zone not in {'a','c'}", false, true, true),
        ("zone not in {}", true, true, true),
        ("kubernetes.io/hostname == 'n1'", false, true, false),
        ("rack contains '1'", true, false, false),
        ("rack starts with 'r'", true, false, false),
        ("rack ends with '12'", true, false, false),
        ("rack ends with '13'", false, false, false),
        ("has(zone) && zone == 'b'", false, true, false),
        ("zone == 'a' || zone == 'b'", true, true, false),
        ("!(zone == 'a' || zone == 'b')", false, false, true),
        ("!zone == 'a'", false, true, true),
        ("!!has(zone)", true, true, false),
        // && binds tighter than ||: true || (false && false).
        ("has(rack) || has(nothing) && has(zone)", true, false, false),
        // Parentheses change it: (true || false) && false for rr.
        (
            "(has(rack) || has(nothing)) && has(nothing)",
            false,
            false,
            false,
        ),
        // ! binds tighter than &&.
        ("!has(rack) && has(zone)", false, true, false),
        ("has(all)", false, false, false),
        ("all == 'x'", false, false, false),
        ("has == 'x'", false, false, false),
        ("a == 'x' || b == 'y' || zone == 'b'", false, true, false),
        ("zone == 'it''s'", false, false, false),
    ];
    for (text, want_rr, want_plain, want_none) in table {
        // `'it''s'` is not one string: that case must fail to parse, the rest parse.
        let parsed = Selector::parse(text);
        if text.contains("''") {
            assert!(parsed.is_err(), "{text} should not parse");
            continue;
        }
        let sel = parsed.unwrap_or_else(|e| panic!("{text}: {e}"));
        assert_eq!(sel.matches(&rr), *want_rr, "{text} on rr");
        assert_eq!(sel.matches(&plain), *want_plain, "{text} on plain");
        assert_eq!(sel.matches(&none), *want_none, "{text} on none");
        // The canonical form parses back to the same tree.
        let again = Selector::parse(&sel.to_string()).unwrap();
        assert_eq!(again.expr(), sel.expr(), "{text} -> {sel}");
    }
}

#[test]
fn precedence_shapes() {
    let e = Selector::parse("a == 'x' || b == 'y' && !has(c)").unwrap();
    assert_eq!(
        *e.expr(),
        Expr::Or(vec![
            Expr::Eq("a".into(), "x".into()),
            Expr::And(vec![
                Expr::Eq("b".into(), "y".into()),
                Expr::Not(Box::new(Expr::Has("c".into()))),
            ]),
        ])
    );
    assert_eq!(e.to_string(), "a == \"x\" || b == \"y\" && !has(c)");
    let e = Selector::parse("(a == 'x' || b == 'y') && has(c)").unwrap();
    assert_eq!(e.to_string(), "(a == \"x\" || b == \"y\") && has(c)");
}

#[test]
fn error_table() {
    // (selector, position, message)
    let table: &[(&str, usize, &str)] = &[
        (
            "zone = 'a'",
            5,
            "expected `==`, `!=`, `in`, `not in`, `contains`, `starts with` or `ends with`, found \"=\"",
        ),
        ("zone == a", 8, "expected a quoted string, found \"a\""),
        (
            "zone == 'a",
            10,
            "expected a closing `'`, found end of selector",
        ),
        ("has(zone", 8, "expected `)`, found end of selector"),
        ("has()", 4, "expected a label key, found \")\""),
        (
            "zone == 'a' &&",
            14,
            "expected a label key, `has(`, `all()`, `!` or `(`, found end of selector",
        ),
        (
            "zone == 'a' zone == 'b'",
            12,
            "expected `&&`, `||` or end of selector, found \"zone\"",
        ),
        (
            "(zone == 'a'",
            12,
            "expected `&&`, `||` or `)`, found end of selector",
        ),
        (
            "zone in {'a' 'b'}",
            13,
            "expected `,` or `}`, found \"'b'}\"",
        ),
        ("zone in 'a'", 8, "expected `{`, found \"'a'\""),
        (
            "zone in {,}",
            9,
            "expected a quoted string or `}`, found \",}\"",
        ),
        (
            "&& x",
            0,
            "expected a label key, `has(`, `all()`, `!` or `(`, found \"&&\"",
        ),
        ("all(", 4, "expected `)`, found end of selector"),
        (
            "zone",
            4,
            "expected `==`, `!=`, `in`, `not in`, `contains`, `starts with` or `ends with`, found end of selector",
        ),
    ];
    for (text, position, message) in table {
        let err = Selector::parse(text).unwrap_err();
        assert_eq!(err.position, *position, "{text}: {err}");
        let shown = err.to_string();
        assert!(
            shown.ends_with(message),
            "{text}:\n got: {shown}\nwant: ...{message}"
        );
        assert!(shown.starts_with(&format!(
            "invalid selector {text:?} at position {position}: "
        )));
    }
}
