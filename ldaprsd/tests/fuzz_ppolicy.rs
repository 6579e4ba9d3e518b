//! Randomized tests of the password policy control's BER parser
//! (`ldaprsd/src/ldap/ppolicy.rs` `parse`): the value comes from the directory server, so
//! for any bytes the parser must return, quickly, without a panic and without allocating at
//! all (its documented contract: it never allocates; the counting allocator checks it).
//!
//! Inputs: arbitrary bytes, and BER trees (the tags the control uses and others,
//! constructed and primitive, short and long lengths, lengths that lie by a few bytes,
//! indefinite and over-long length forms, multi-byte tags), encoded and then mutated.
//! Every value that parses must also come out the same from its canonical re-encoding.
//!
//! `cargo test` runs `CI_CASES` cases; the long run is
//! `LDAPRS_FUZZ_CASES=1000000 cargo test --release -p ldaprsd --test fuzz_ppolicy -- --ignored`
//! (docs/FUZZING.md).
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

#[path = "../../common/tests/support/mod.rs"]
mod support;

use ldaprsd::ldap::ppolicy::{parse, PolicyError, PolicyResponse};
use proptest::collection::vec;
use proptest::prelude::*;
use proptest::test_runner::TestCaseError;
use support::{check, long_cases, run, CI_CASES};

#[global_allocator]
static ALLOC: support::Counting = support::Counting;

/// How an element's length is written.
#[derive(Clone, Debug)]
enum LenForm {
    Short,
    /// Long form with this many length bytes (1..=6: 5 and 6 are over the parser's limit).
    Long(u8),
    /// 0x80: indefinite.
    Indefinite,
    /// The true length plus this (a lie).
    Off(i8),
}

#[derive(Clone, Debug)]
enum Ber {
    Prim(u8, LenForm, Vec<u8>),
    Cons(u8, LenForm, Vec<Ber>),
}

fn tag() -> impl Strategy<Value = u8> {
    prop_oneof![
        4 => proptest::sample::select(vec![0x30u8, 0xa0, 0x80, 0x81, 0x82, 0x02, 0x0a]),
        1 => Just(0x1f),
        1 => any::<u8>(),
    ]
}

fn len_form() -> impl Strategy<Value = LenForm> {
    prop_oneof![
        6 => Just(LenForm::Short),
        2 => (1u8..=6).prop_map(LenForm::Long),
        1 => Just(LenForm::Indefinite),
        1 => (-3i8..=3).prop_map(LenForm::Off),
    ]
}

fn ber() -> impl Strategy<Value = Ber> {
    let leaf =
        (tag(), len_form(), vec(any::<u8>(), 0..10)).prop_map(|(t, l, b)| Ber::Prim(t, l, b));
    leaf.prop_recursive(4, 24, 4, |inner| {
        (tag(), len_form(), vec(inner, 0..4)).prop_map(|(t, l, k)| Ber::Cons(t, l, k))
    })
}

fn encode(b: &Ber, out: &mut Vec<u8>) {
    let (t, form, body) = match b {
        Ber::Prim(t, f, body) => (*t, f, body.clone()),
        Ber::Cons(t, f, kids) => {
            let mut body = Vec::new();
            for k in kids {
                encode(k, &mut body);
            }
            (*t, f, body)
        }
    };
    out.push(t);
    let n = body.len();
    match form {
        LenForm::Short if n < 0x80 => out.push(n as u8),
        LenForm::Short => long_len(out, n, 4),
        LenForm::Long(k) => long_len(out, n, *k),
        LenForm::Indefinite => out.push(0x80),
        LenForm::Off(d) => out.push((n as i64 + i64::from(*d)).clamp(0, 0x7f) as u8),
    }
    out.extend_from_slice(&body);
}

fn long_len(out: &mut Vec<u8>, n: usize, k: u8) {
    out.push(0x80 | k);
    let be = (n as u64).to_be_bytes();
    out.extend_from_slice(&be[8 - usize::from(k)..]);
}

#[derive(Clone, Debug)]
enum Input {
    Bytes(Vec<u8>),
    Tree(Ber, Vec<(usize, u8)>),
    /// A control as a server sends it, canonically encoded, then changed in a few bytes.
    Control(PolicyResponse, Vec<(usize, u8)>),
}

fn control() -> impl Strategy<Value = PolicyResponse> {
    let n = || prop_oneof![0u32..3, any::<u32>()];
    let warning = prop_oneof![
        Just((None, None)),
        n().prop_map(|t| (Some(t), None)),
        n().prop_map(|g| (None, Some(g))),
    ];
    let error = proptest::option::of(prop_oneof![0u32..10, any::<u32>()]);
    (warning, error).prop_map(|((t, g), e)| PolicyResponse {
        time_before_expiration: t,
        grace_remaining: g,
        error: e.map(policy_error),
    })
}

fn input() -> impl Strategy<Value = Input> {
    prop_oneof![
        1 => vec(any::<u8>(), 0..48).prop_map(Input::Bytes),
        // Arbitrary bytes inside a SEQUENCE with a right length.
        1 => vec(any::<u8>(), 0..24).prop_map(|b| {
            let mut v = vec![0x30, b.len() as u8];
            v.extend(b);
            Input::Bytes(v)
        }),
        4 => (ber(), vec((any::<usize>(), any::<u8>()), 0..3)).prop_map(|(t, m)| Input::Tree(t, m)),
        2 => (control(), vec((any::<usize>(), any::<u8>()), 0..3))
            .prop_map(|(c, m)| Input::Control(c, m)),
    ]
}

/// The canonical encoding of a decoded control.
fn canonical(p: &PolicyResponse) -> Vec<u8> {
    fn int(tag: u8, v: u32) -> Vec<u8> {
        let be = v.to_be_bytes();
        let skip = be.iter().take_while(|b| **b == 0).count().min(3);
        let mut body = be[skip..].to_vec();
        if body[0] & 0x80 != 0 {
            body.insert(0, 0);
        }
        let mut out = vec![tag, body.len() as u8];
        out.extend(body);
        out
    }
    let mut seq = Vec::new();
    let warning = match (p.time_before_expiration, p.grace_remaining) {
        (Some(t), _) => Some(int(0x80, t)),
        (None, Some(g)) => Some(int(0x81, g)),
        (None, None) => None,
    };
    if let Some(w) = warning {
        seq.push(0xa0);
        seq.push(w.len() as u8);
        seq.extend(w);
    }
    if let Some(e) = p.error {
        seq.extend(int(0x81, error_code(e)));
    }
    let mut out = vec![0x30, seq.len() as u8];
    out.extend(seq);
    out
}

/// The draft's error codes (the parser's `from_u32`, restated).
fn policy_error(n: u32) -> PolicyError {
    match n {
        0 => PolicyError::PasswordExpired,
        1 => PolicyError::AccountLocked,
        2 => PolicyError::ChangeAfterReset,
        3 => PolicyError::PasswordModNotAllowed,
        4 => PolicyError::MustSupplyOldPassword,
        5 => PolicyError::InsufficientPasswordQuality,
        6 => PolicyError::PasswordTooShort,
        7 => PolicyError::PasswordTooYoung,
        8 => PolicyError::PasswordInHistory,
        n => PolicyError::Unknown(n),
    }
}

fn error_code(e: PolicyError) -> u32 {
    match e {
        PolicyError::PasswordExpired => 0,
        PolicyError::AccountLocked => 1,
        PolicyError::ChangeAfterReset => 2,
        PolicyError::PasswordModNotAllowed => 3,
        PolicyError::MustSupplyOldPassword => 4,
        PolicyError::InsufficientPasswordQuality => 5,
        PolicyError::PasswordTooShort => 6,
        PolicyError::PasswordTooYoung => 7,
        PolicyError::PasswordInHistory => 8,
        PolicyError::Unknown(n) => n,
    }
}

fn change(b: &mut [u8], muts: &[(usize, u8)]) {
    let n = b.len();
    for (i, v) in muts {
        if n > 0 {
            b[i % n] = *v;
        }
    }
}

fn one_value(input: Input) -> Result<(), TestCaseError> {
    let (bytes, sent) = match input {
        Input::Bytes(b) => (b, None),
        Input::Tree(t, muts) => {
            let mut b = Vec::new();
            encode(&t, &mut b);
            change(&mut b, &muts);
            (b, None)
        }
        Input::Control(c, muts) => {
            let mut b = canonical(&c);
            change(&mut b, &muts);
            (b, muts.is_empty().then_some(c))
        }
    };
    // Not a single allocation: the bound is 0 bytes.
    let got = check("ppolicy::parse", 0, || parse(&bytes))?;
    if let Some(c) = sent {
        prop_assert_eq!(&got, &Ok(c));
    }
    if let Ok(p) = got {
        // Both warnings in one value cannot be: the CHOICE holds one.
        prop_assert!(p.time_before_expiration.is_none() || p.grace_remaining.is_none());
        let again = parse(&canonical(&p));
        prop_assert_eq!(again, Ok(p));
    }
    Ok(())
}

#[test]
fn ppolicy_parser() {
    run("ppolicy parser", CI_CASES, input(), one_value);
}

#[test]
#[ignore = "long run: LDAPRS_FUZZ_CASES=1000000 cargo test --release ... -- --ignored"]
fn ppolicy_parser_long() {
    run("ppolicy parser", long_cases(), input(), one_value);
}
