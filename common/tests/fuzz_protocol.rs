//! Randomized tests of the socket protocol's decoders: the frame header, the request decoder
//! (the daemon's side) and the response decoders (owned, borrowed, and the enumeration
//! cursor: the modules' side). The oracle for every input: no panic, no hang, and no
//! allocation beyond a bound set by the bytes really received, never by a length or count
//! the peer wrote:
//! - requests: at most the payload's length plus 512 bytes, single or live at once (every
//!   string is a copy of payload bytes; the rest is one `Box<Request>`), so never more than
//!   [`MAX_REQUEST`] + 512;
//! - responses: at most 6 × the payload's length plus 512 (a list reserves its count, and the
//!   count is checked against the bytes left: 6 is the largest ratio of an item's size in
//!   memory to its smallest size on the wire, a `(String, String)` status line of 8 bytes or a
//!   member name of 4 bytes kept as a 24-byte `String`).
//!
//! Inputs: arbitrary bytes, valid encodings of arbitrary messages (which must round-trip),
//! the same mutated (bit flips, inserted and removed bytes, truncation, length words
//! overwritten with 0, 2^32-1, the caps and their neighbours), and `Explain` nested up to the
//! 13,106 levels that fit in a 64 KiB frame.
//!
//! `cargo test` runs [`CI_CASES`] per target; the long run is
//! `LDAPRS_FUZZ_CASES=1000000 cargo test --release -p ldaprs-common --test fuzz_protocol -- --ignored`
//! (docs/FUZZING.md).
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod support;

use ldaprs_common::protocol::{
    decode_request, decode_response, decode_response_ref, frame_request, frame_response,
    parse_header, AuthCode, DecodeError, ErrorCode, Group, PamContext, Passwd, PayloadCursor,
    Request, Response, ResponseRef, Secret, HEADER_LEN, MAX_REQUEST, MAX_RESPONSE, MAX_STRING,
};
use proptest::collection::vec;
use proptest::prelude::*;
use proptest::test_runner::TestCaseError;
use support::{check, long_cases, run, CI_CASES};

#[global_allocator]
static ALLOC: support::Counting = support::Counting;

/// The most `Explain` levels whose frame fits in [`MAX_REQUEST`] (5 bytes a level).
const MOST_LEVELS: usize = (MAX_REQUEST - 5) / 5;

// ---- messages ----

fn text() -> impl Strategy<Value = String> {
    prop_oneof![
        vec(any::<char>(), 0..12).prop_map(String::from_iter),
        "[a-z]{1,8}",
        Just(String::new()),
    ]
}

fn secret() -> impl Strategy<Value = Secret> {
    vec(any::<u8>(), 0..16).prop_map(Secret::new)
}

fn ctx() -> impl Strategy<Value = PamContext> {
    (text(), text(), text()).prop_map(|(service, rhost, tty)| PamContext {
        service,
        rhost,
        tty,
    })
}

/// Any request but an `Explain`.
fn plain_request() -> BoxedStrategy<Request> {
    prop_oneof![
        text().prop_map(Request::UserByName),
        any::<u32>().prop_map(Request::UserByUid),
        Just(Request::AllUsers),
        text().prop_map(Request::GroupByName),
        any::<u32>().prop_map(Request::GroupByGid),
        Just(Request::AllGroups),
        text().prop_map(Request::GroupsOfUser),
        (text(), secret(), ctx()).prop_map(|(user, password, ctx)| Request::Authenticate {
            user,
            password,
            ctx
        }),
        (text(), ctx()).prop_map(|(user, ctx)| Request::AccountCheck { user, ctx }),
        Just(Request::Status),
        Just(Request::FlushCache),
        (text(), proptest::option::of(secret()), secret(), ctx()).prop_map(
            |(user, old, new, ctx)| Request::ChangePassword {
                user,
                old,
                new,
                ctx
            }
        ),
    ]
    .boxed()
}

fn request() -> impl Strategy<Value = Request> {
    prop_oneof![
        3 => plain_request(),
        1 => plain_request().prop_map(|r| Request::Explain(Box::new(r))),
    ]
}

fn passwd() -> impl Strategy<Value = Passwd> {
    (text(), any::<u32>(), any::<u32>(), text(), text(), text()).prop_map(
        |(name, uid, gid, gecos, dir, shell)| Passwd {
            name,
            uid,
            gid,
            gecos,
            dir,
            shell,
        },
    )
}

fn group() -> impl Strategy<Value = Group> {
    (text(), any::<u32>(), vec(text(), 0..6)).prop_map(|(name, gid, members)| Group {
        name,
        gid,
        members,
    })
}

const AUTH_CODES: [AuthCode; 9] = [
    AuthCode::Success,
    AuthCode::Denied,
    AuthCode::UserUnknown,
    AuthCode::Unavailable,
    AuthCode::AccountDenied,
    AuthCode::Expired,
    AuthCode::Refused,
    AuthCode::NewAuthtokRequired,
    AuthCode::PasswordRejected,
];
const ERROR_CODES: [ErrorCode; 4] = [
    ErrorCode::Unavailable,
    ErrorCode::BadRequest,
    ErrorCode::PermissionDenied,
    ErrorCode::Internal,
];

fn response() -> impl Strategy<Value = Response> {
    prop_oneof![
        passwd().prop_map(Response::User),
        vec(passwd(), 0..6).prop_map(Response::Users),
        group().prop_map(Response::Group),
        vec(group(), 0..5).prop_map(Response::Groups),
        vec(any::<u32>(), 0..16).prop_map(Response::Gids),
        Just(Response::NotFound),
        (proptest::sample::select(&AUTH_CODES[..]), text())
            .prop_map(|(code, message)| Response::Auth { code, message }),
        vec((text(), text()), 0..6).prop_map(Response::Status),
        Just(Response::Ok),
        (proptest::sample::select(&ERROR_CODES[..]), text())
            .prop_map(|(code, message)| Response::Error { code, message }),
    ]
}

// ---- mutations ----

/// One change to an encoded message; positions are taken modulo its length.
#[derive(Clone, Debug)]
enum Mutation {
    Flip(usize, u8),
    Insert(usize, u8),
    Remove(usize),
    Truncate(usize),
    /// Overwrites 4 bytes with a big-endian word (lengths and counts are u32 BE).
    Word(usize, u32),
}

fn word() -> impl Strategy<Value = u32> {
    prop_oneof![
        Just(0u32),
        Just(1),
        Just(u32::MAX),
        Just(0x7fff_ffff),
        Just(0x8000_0000),
        Just(MAX_STRING as u32),
        Just(MAX_STRING as u32 + 1),
        Just(MAX_REQUEST as u32),
        Just(MAX_RESPONSE as u32),
        Just(MAX_RESPONSE as u32 + 1),
        0u32..64,
        any::<u32>(),
    ]
}

fn mutation() -> impl Strategy<Value = Mutation> {
    prop_oneof![
        (any::<usize>(), 1u8..=255).prop_map(|(i, m)| Mutation::Flip(i, m)),
        (any::<usize>(), any::<u8>()).prop_map(|(i, b)| Mutation::Insert(i, b)),
        any::<usize>().prop_map(Mutation::Remove),
        any::<usize>().prop_map(Mutation::Truncate),
        (any::<usize>(), word()).prop_map(|(i, w)| Mutation::Word(i, w)),
    ]
}

fn mutate(bytes: &mut Vec<u8>, ms: &[Mutation]) {
    for m in ms {
        let n = bytes.len();
        match *m {
            Mutation::Flip(i, mask) if n > 0 => bytes[i % n] ^= mask,
            Mutation::Insert(i, b) => bytes.insert(i % (n + 1), b),
            Mutation::Remove(i) if n > 0 => {
                bytes.remove(i % n);
            }
            Mutation::Truncate(i) => bytes.truncate(i % (n + 1)),
            Mutation::Word(i, w) if n >= 4 => {
                let at = i % (n - 3);
                bytes[at..at + 4].copy_from_slice(&w.to_be_bytes());
            }
            _ => {}
        }
    }
}

/// `levels` `Explain`s around `inner`, as the encoder writes each (tag 12, u32 BE length).
fn nest(inner: &[u8], levels: usize) -> Vec<u8> {
    let mut out = vec![0u8; levels * 5 + inner.len()];
    out[levels * 5..].copy_from_slice(inner);
    for l in (0..levels).rev() {
        let len = (out.len() - l * 5 - 5) as u32;
        out[l * 5] = 12;
        out[l * 5 + 1..l * 5 + 5].copy_from_slice(&len.to_be_bytes());
    }
    out
}

/// A payload to decode, and the message it encodes if it was left valid.
#[derive(Clone, Debug)]
enum Input<T> {
    Bytes(Vec<u8>),
    Valid(T),
    Mutated(T, Vec<Mutation>),
    Nested(T, usize, Vec<Mutation>),
}

fn inputs<T: Clone + std::fmt::Debug + 'static>(
    msg: BoxedStrategy<T>,
) -> impl Strategy<Value = Input<T>> {
    prop_oneof![
        2 => vec(any::<u8>(), 0..256).prop_map(Input::Bytes),
        // A known tag first, so the decoder gets past the first byte.
        2 => (0u8..16, vec(any::<u8>(), 0..128)).prop_map(|(t, mut b)| {
            b.insert(0, t);
            Input::Bytes(b)
        }),
        2 => msg.clone().prop_map(Input::Valid),
        4 => (msg.clone(), vec(mutation(), 1..6)).prop_map(|(m, ms)| Input::Mutated(m, ms)),
        1 => (msg, prop_oneof![1usize..4, 0..=MOST_LEVELS], vec(mutation(), 0..3))
            .prop_map(|(m, l, ms)| Input::Nested(m, l, ms)),
    ]
}

// ---- the targets ----

/// Can `inner` stand inside an `Explain`?
fn explainable(inner: &Request) -> bool {
    !matches!(
        inner,
        Request::Authenticate { .. } | Request::ChangePassword { .. } | Request::Explain(_)
    )
}

fn one_request(input: Input<Request>) -> Result<(), TestCaseError> {
    let (payload, valid) = match &input {
        Input::Bytes(b) => (b.clone(), None),
        Input::Valid(r) => (frame_request(r)[HEADER_LEN..].to_vec(), Some(r)),
        Input::Mutated(r, ms) => {
            let mut p = frame_request(r)[HEADER_LEN..].to_vec();
            mutate(&mut p, ms);
            (p, None)
        }
        Input::Nested(r, levels, ms) => {
            let mut p = nest(&frame_request(r)[HEADER_LEN..], *levels);
            mutate(&mut p, ms);
            (p, None)
        }
    };
    let bound = payload.len() + 512;
    let got = check("decode_request", bound, || decode_request(&payload))?;
    if let Some(r) = valid {
        match r {
            Request::Explain(inner) if !explainable(inner) => {
                prop_assert!(
                    matches!(got, Err(DecodeError::NotExplainable(_))),
                    "{got:?}"
                );
            }
            _ => prop_assert_eq!(got.as_ref(), Ok(r)),
        }
    }
    if let Ok(Request::Explain(inner)) = &got {
        prop_assert!(explainable(inner), "{inner:?} inside an Explain");
    }
    // The same payload as a whole frame, through the header check the daemon makes first.
    let mut frame = ldaprs_common::protocol::header(payload.len()).to_vec();
    frame.extend_from_slice(&payload);
    mutate_header(&mut frame, &payload);
    frame_check(&frame, MAX_REQUEST)?;
    Ok(())
}

/// Now and then a header with a lying length, magic or version (decided by the payload).
fn mutate_header(frame: &mut [u8], payload: &[u8]) {
    match payload.first().map(|b| b % 8) {
        Some(0) => frame[6..10].copy_from_slice(&u32::MAX.to_be_bytes()),
        Some(1) => frame[0] ^= 0x20,
        Some(2) => frame[5] = 2,
        _ => {}
    }
}

/// The header check: a length over `cap` is refused before anything is allocated.
fn frame_check(frame: &[u8], cap: usize) -> Result<(), TestCaseError> {
    let h: [u8; HEADER_LEN] = frame[..HEADER_LEN].try_into().unwrap();
    let len = check("parse_header", 0, || parse_header(&h, cap))?;
    if let Ok(n) = len {
        prop_assert!(n <= cap);
        prop_assert_eq!(n, frame.len() - HEADER_LEN);
    }
    Ok(())
}

fn one_response(input: Input<Response>) -> Result<(), TestCaseError> {
    let (payload, valid) = match &input {
        Input::Bytes(b) => (b.clone(), None),
        Input::Valid(r) => (frame_response(r)[HEADER_LEN..].to_vec(), Some(r)),
        Input::Mutated(r, ms) | Input::Nested(r, _, ms) => {
            let mut p = frame_response(r)[HEADER_LEN..].to_vec();
            mutate(&mut p, ms);
            (p, None)
        }
    };
    let bound = 6 * payload.len() + 512;
    let owned = check("decode_response", bound, || decode_response(&payload))?;
    let borrowed = check("decode_response_ref", bound, || {
        decode_response_ref(&payload)
    })?;
    let users = check("PayloadCursor users", bound, || walk(&payload, false))?;
    let groups = check("PayloadCursor groups", bound, || walk(&payload, true))?;
    if let Some(r) = valid {
        prop_assert_eq!(owned.as_ref(), Ok(r));
    }
    // The borrowed decoder agrees with the owned one wherever both succeed.
    if let (Ok(o), Ok(b)) = (&owned, &borrowed) {
        let expected = match o {
            Response::User(p) => ResponseRef::User(p.borrowed()),
            Response::Group(g) => ResponseRef::Group(g.borrowed()),
            Response::Gids(v) => ResponseRef::Gids(v.clone()),
            _ => ResponseRef::Other,
        };
        prop_assert_eq!(b, &expected);
    }
    // The cursor yields exactly the entries of a valid enumeration.
    match &owned {
        Ok(Response::Users(v)) => prop_assert_eq!(users, v.len()),
        Ok(Response::Groups(v)) => prop_assert_eq!(groups, v.len()),
        _ => {}
    }
    let mut frame = frame_response(&Response::Ok)[..HEADER_LEN].to_vec();
    frame[6..10].copy_from_slice(&(payload.len() as u32).to_be_bytes());
    frame.extend_from_slice(&payload);
    mutate_header(&mut frame, &payload);
    frame_check(&frame, MAX_RESPONSE)?;
    Ok(())
}

/// Walks an enumeration with the cursor to its end: the entries read. Fails if it ever
/// stops advancing or reads more entries than the payload can hold.
fn walk(payload: &[u8], groups: bool) -> usize {
    let Some(mut c) = PayloadCursor::new(payload, groups) else {
        return 0;
    };
    let mut n = 0;
    loop {
        let next = if groups {
            c.group(payload).map(|(_, c)| c)
        } else {
            c.user(payload).map(|(_, c)| c)
        };
        let Some(nc) = next else {
            return n;
        };
        assert_ne!(nc, c, "the cursor did not advance");
        c = nc;
        n += 1;
        // Every entry takes at least 12 bytes: more entries than that is a loop.
        assert!(n <= payload.len() / 12 + 1, "cursor ran past the payload");
    }
}

// ---- the oracle itself, and regression cases ----

#[test]
fn the_oracle_sees_an_allocation_over_its_bound() {
    assert!(check("small", 100, || vec![0u8; 64]).is_ok());
    assert!(check("one too big", 100, || vec![0u8; 101]).is_err());
    // Many small ones adding up: the peak of live bytes counts too.
    assert!(check("peak", 100, || vec![vec![0u8; 40]; 3]).is_err());
    // A reallocation counts at its new size.
    assert!(check("grown", 100, || {
        let mut v = Vec::with_capacity(8);
        v.extend_from_slice(&[0u8; 200]);
        v
    })
    .is_err());
    let (_, u) = support::measure(|| String::from("abc"));
    assert_eq!((u.count, u.largest), (1, 3));
}

#[test]
fn regressions() {
    // 13,106 nested Explain (the daemon's stack overflow): refused at the second level.
    let lookup = frame_request(&Request::UserByUid(10001))[HEADER_LEN..].to_vec();
    let deep = nest(&lookup, MOST_LEVELS);
    assert!(deep.len() <= MAX_REQUEST);
    assert_eq!(decode_request(&deep), Err(DecodeError::NotExplainable(12)));
}

#[test]
fn regression_users_with_short_entries_decode() {
    // Found by response_decoders: a `Users` list was checked against 28 bytes an entry, but
    // an entry with short strings takes 24 (six u32s); the decoder refused a valid answer.
    let short = Passwd {
        name: String::new(),
        uid: 0,
        gid: 0,
        gecos: "a".into(),
        dir: String::new(),
        shell: String::new(),
    };
    for n in [1, 2, 7] {
        let r = Response::Users(vec![short.clone(); n]);
        let f = frame_response(&r);
        assert_eq!(decode_response(&f[HEADER_LEN..]), Ok(r));
    }
}

#[test]
fn request_decoder() {
    run(
        "request decoder",
        CI_CASES,
        inputs(request().boxed()),
        one_request,
    );
}

#[test]
fn response_decoders() {
    run(
        "response decoders",
        CI_CASES,
        inputs(response().boxed()),
        one_response,
    );
}

#[test]
#[ignore = "long run: LDAPRS_FUZZ_CASES=1000000 cargo test --release ... -- --ignored"]
fn request_decoder_long() {
    run(
        "request decoder",
        long_cases(),
        inputs(request().boxed()),
        one_request,
    );
}

#[test]
#[ignore = "long run: LDAPRS_FUZZ_CASES=1000000 cargo test --release ... -- --ignored"]
fn response_decoders_long() {
    run(
        "response decoders",
        long_cases(),
        inputs(response().boxed()),
        one_response,
    );
}
