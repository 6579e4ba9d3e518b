//! Randomized tests of the shared-map reader (`common/src/shm/reader.rs`), which runs inside
//! every process on bytes another process wrote: any image must give a hit, a miss or a
//! negative answer, never a panic, a hang, an out-of-bounds read or an allocation beyond the
//! record cap.
//!
//! Images: real maps written by `MapWriter` from random records, then corrupted (header
//! fields, bucket slots, record fields and bytes overwritten with edge values: 0, 2^32-1,
//! odd, unaligned, pointing backwards, forwards and past the end), and arbitrary bytes with
//! or without a valid header. Lookups: every record's name and id, and random ones.
//!
//! Out-of-bounds reads: each image is copied so that it ends exactly where a `PROT_NONE`
//! guard page begins, in memory mapped read-only; a read past the end, or any write, faults
//! and fails the test. (Image lengths are multiples of 8, as the reader's alignment contract
//! requires of the base; the map files the daemon writes are whole pages.)
//! Allocation: at most twice the smaller of the image and `MAX_RECORD` (the reader reserves
//! one record's bytes at a time, and a `Vec` may double once) plus 64 bytes.
//!
//! `cargo test` runs [`CI_CASES`] cases; the long run is
//! `LDAPRS_FUZZ_CASES=1000000 cargo test --release -p ldaprs-common --test fuzz_shm -- --ignored`
//! (docs/FUZZING.md).
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod support;

use ldaprs_common::shm::{now_ms, Hit, Kind, MapView, MapWriter, MAGIC, MAX_RECORD, VERSION};
use proptest::collection::vec;
use proptest::prelude::*;
use proptest::test_runner::TestCaseError;
use support::{check, long_cases, run, CI_CASES};

#[global_allocator]
static ALLOC: support::Counting = support::Counting;

const PAGE: usize = 4096;
/// The file format (common/src/shm/layout.rs), restated here: the header is one page; the
/// fields the fuzzer aims at.
const HEADER: usize = 4096;
const OFF_SEQ: usize = 8;
const OFF_LEN: usize = 24;
const OFF_BUCKETS: usize = 32;
const OFF_DATA_USED: usize = 48;
const REC: usize = 48;
/// Record fields: total, next by name, next by id, id, refresh, expires, meta, payload len, sum.
const REC_FIELDS: [usize; 11] = [0, 4, 8, 12, 16, 20, 24, 28, 32, 36, 40];

#[derive(Clone, Debug)]
struct Rec {
    kind: u8,
    name: Option<String>,
    id: Option<u32>,
    negative: bool,
    payload: Vec<u8>,
}

/// Where a corruption lands.
#[derive(Clone, Debug)]
enum Spot {
    Header(usize),
    Bucket(usize),
    /// A field of the n-th record.
    Record(usize, usize),
    Anywhere(usize),
}

#[derive(Clone, Debug)]
enum Corruption {
    U32(Spot, u32),
    U64(Spot, u64),
    Byte(Spot, u8),
}

#[derive(Clone, Debug)]
enum Image {
    Written {
        buckets_log: u32,
        pages: usize,
        recs: Vec<Rec>,
        corrupt: Vec<Corruption>,
    },
    Bytes {
        words: usize,
        fill: Vec<u8>,
        header: bool,
        buckets_log: u32,
    },
}

#[derive(Clone, Debug)]
struct Case {
    image: Image,
    /// Extra lookups: (kind 0..=3, by name or by id).
    queries: Vec<(u8, Result<String, u32>)>,
}

fn kind_of(k: u8) -> Kind {
    match k % 3 {
        0 => Kind::Passwd,
        1 => Kind::Group,
        _ => Kind::Initgroups,
    }
}

fn rec() -> impl Strategy<Value = Rec> {
    (
        0u8..3,
        proptest::option::of("[a-z]{0,6}"),
        proptest::option::weighted(0.7, prop_oneof![0u32..8, any::<u32>()]),
        proptest::bool::weighted(0.2),
        vec(any::<u8>(), 0..64),
    )
        .prop_map(|(kind, name, id, negative, payload)| Rec {
            kind,
            name,
            id,
            negative,
            payload,
        })
}

fn edge_u32() -> impl Strategy<Value = u32> {
    prop_oneof![
        Just(0u32),
        Just(u32::MAX),
        Just(8),
        Just(REC as u32),
        Just(MAX_RECORD as u32),
        Just(MAX_RECORD as u32 + 8),
        0u32..4096,
        (0u32..2048).prop_map(|x| x * 8),
        any::<u32>(),
    ]
}

fn edge_u64() -> impl Strategy<Value = u64> {
    prop_oneof![
        Just(0u64),
        Just(u64::MAX),
        Just(1),
        edge_u32().prop_map(u64::from),
        any::<u64>(),
    ]
}

fn spot() -> impl Strategy<Value = Spot> {
    prop_oneof![
        prop_oneof![
            Just(OFF_SEQ),
            Just(OFF_LEN),
            Just(OFF_BUCKETS),
            Just(OFF_DATA_USED),
            0usize..128,
        ]
        .prop_map(Spot::Header),
        any::<usize>().prop_map(Spot::Bucket),
        (any::<usize>(), proptest::sample::select(&REC_FIELDS[..]))
            .prop_map(|(n, f)| Spot::Record(n, f)),
        any::<usize>().prop_map(Spot::Anywhere),
    ]
}

fn corruption() -> impl Strategy<Value = Corruption> {
    prop_oneof![
        (spot(), edge_u32()).prop_map(|(s, v)| Corruption::U32(s, v)),
        (spot(), edge_u64()).prop_map(|(s, v)| Corruption::U64(s, v)),
        (spot(), any::<u8>()).prop_map(|(s, v)| Corruption::Byte(s, v)),
    ]
}

fn image() -> impl Strategy<Value = Image> {
    prop_oneof![
        4 => (0u32..7, 2usize..5, vec(rec(), 0..12), vec(corruption(), 0..5)).prop_map(
            |(buckets_log, pages, recs, corrupt)| Image::Written {
                buckets_log,
                pages,
                recs,
                corrupt,
            }
        ),
        1 => (
            prop_oneof![0usize..16, 500usize..1100],
            vec(any::<u8>(), 1..64),
            any::<bool>(),
            0u32..12,
        )
            .prop_map(|(words, fill, header, buckets_log)| Image::Bytes {
                words,
                fill,
                header,
                buckets_log,
            }),
    ]
}

fn case() -> impl Strategy<Value = Case> {
    let query = (
        0u8..4,
        prop_oneof![
            "[a-z]{0,6}".prop_map(Ok),
            prop_oneof![0u32..8, any::<u32>()].prop_map(Err)
        ],
    );
    (image(), vec(query, 0..4)).prop_map(|(image, queries)| Case { image, queries })
}

// ---- building images ----

fn put(img: &mut [u8], at: usize, bytes: &[u8]) {
    if let Some(dst) = at
        .checked_add(bytes.len())
        .and_then(|end| img.get_mut(at..end))
    {
        dst.copy_from_slice(bytes);
    }
}

/// Offsets of the records `MapWriter` laid out (it appends from data offset 8), if it never
/// had to clear the map for room.
fn record_starts(data: usize, len: usize, recs: &[Rec]) -> Vec<usize> {
    let mut off = 8;
    let mut starts = Vec::new();
    for r in recs {
        let key = r.name.as_ref().map_or(0, String::len);
        let total = (REC + key + r.payload.len() + 7) & !7;
        if data + off + total + 8 > len {
            return Vec::new();
        }
        starts.push(data + off);
        off += total;
    }
    starts
}

/// A written image, the records' offsets and the data area's start.
fn written(buckets_log: u32, pages: usize, recs: &[Rec]) -> (Vec<u8>, Vec<usize>, usize) {
    let len = pages * PAGE;
    let buckets = 1u32 << buckets_log;
    let mut buf = vec![0u64; len / 8];
    // SAFETY: `buf` is `len` writable, 8-byte aligned bytes that outlive the writer.
    let w = unsafe { MapWriter::create(buf.as_mut_ptr().cast(), len, buckets) }.unwrap();
    let far = now_ms() + 3_600_000;
    for r in recs {
        let _ = w.insert(
            kind_of(r.kind),
            r.name.as_deref(),
            r.id,
            r.negative,
            &r.payload,
            far,
            far + 3_600_000,
        );
    }
    let img: Vec<u8> = buf.iter().flat_map(|w| w.to_ne_bytes()).collect();
    let data = (HEADER + 8 * buckets as usize + 7) & !7;
    let starts = record_starts(data, len, recs);
    (img, starts, data)
}

fn corrupt(img: &mut [u8], c: &Corruption, buckets: usize, starts: &[usize]) {
    let at = |s: &Spot| match *s {
        Spot::Header(o) => o,
        Spot::Bucket(i) => HEADER + 4 * (i % (2 * buckets)),
        Spot::Record(n, f) if !starts.is_empty() => starts[n % starts.len()] + f,
        Spot::Record(_, f) => HEADER + f,
        Spot::Anywhere(o) => o % img.len().max(1),
    };
    match c {
        Corruption::U32(s, v) => put(img, at(s), &v.to_ne_bytes()),
        Corruption::U64(s, v) => put(img, at(s), &v.to_ne_bytes()),
        Corruption::Byte(s, v) => put(img, at(s), &[*v]),
    }
}

fn bytes_image(words: usize, fill: &[u8], header: bool, buckets_log: u32) -> Vec<u8> {
    let len = words * 8;
    let mut img: Vec<u8> = fill.iter().copied().cycle().take(len).collect();
    if header {
        put(&mut img, 0, &MAGIC.to_ne_bytes());
        put(&mut img, OFF_SEQ, &0u64.to_ne_bytes());
        put(&mut img, 16, &VERSION.to_ne_bytes());
        put(&mut img, 20, &0u32.to_ne_bytes());
        put(&mut img, OFF_LEN, &(len as u64).to_ne_bytes());
        put(&mut img, OFF_BUCKETS, &(1u32 << buckets_log).to_ne_bytes());
    }
    img
}

// ---- the guarded mapping ----

/// `img` copied into read-only memory that ends where a `PROT_NONE` page begins; `f` gets a
/// view of it. A read past the image's end, or any write, is a fault.
fn guarded<R>(img: &[u8], f: impl FnOnce(MapView) -> R) -> R {
    assert!(img.len().is_multiple_of(8));
    let body = img.len().div_ceil(PAGE) * PAGE;
    let total = body + PAGE;
    // SAFETY: a fresh private anonymous mapping; every pointer below stays inside it, and it
    // is unmapped only after `f` (and the view) are done.
    unsafe {
        let p = libc::mmap(
            std::ptr::null_mut(),
            total,
            libc::PROT_READ | libc::PROT_WRITE,
            libc::MAP_PRIVATE | libc::MAP_ANONYMOUS,
            -1,
            0,
        );
        assert_ne!(p, libc::MAP_FAILED);
        let p = p.cast::<u8>();
        assert_eq!(libc::mprotect(p.add(body).cast(), PAGE, libc::PROT_NONE), 0);
        let base = p.add(body - img.len());
        std::ptr::copy_nonoverlapping(img.as_ptr(), base, img.len());
        if body > 0 {
            assert_eq!(libc::mprotect(p.cast(), body, libc::PROT_READ), 0);
        }
        let r = f(MapView::new(base, img.len()));
        libc::munmap(p.cast(), total);
        r
    }
}

// ---- the target ----

/// Every lookup (and the header checks) on `view`, each under the oracle.
fn lookups(
    view: MapView,
    asks: &[(Kind, Option<&str>, Option<u32>)],
    bound: usize,
) -> Result<Vec<Hit>, TestCaseError> {
    check("map header checks", 0, || {
        (
            view.valid(),
            view.superseded(),
            view.generation(),
            view.len(),
        )
    })?;
    let mut hits = Vec::with_capacity(asks.len());
    for (k, n, i) in asks {
        hits.push(check("map lookup", bound, || view.lookup(*k, *n, *i))?);
    }
    Ok(hits)
}

/// The newest record a lookup by (kind, name) or (kind, id) must find in an intact map.
fn newest<'a>(recs: &'a [Rec], kind: u8, name: Option<&str>, id: Option<u32>) -> Option<&'a Rec> {
    recs.iter().rev().find(|r| {
        r.kind == kind
            && match (name, id) {
                (Some(n), _) => r.name.as_deref() == Some(n),
                (None, Some(i)) => r.id == Some(i),
                _ => false,
            }
    })
}

fn one_map(case: Case) -> Result<(), TestCaseError> {
    let (img, intact) = match &case.image {
        Image::Written {
            buckets_log,
            pages,
            recs,
            corrupt: cs,
        } => {
            let (mut img, starts, _) = written(*buckets_log, *pages, recs);
            for c in cs {
                corrupt(&mut img, c, 1 << buckets_log, &starts);
            }
            let intact = (cs.is_empty() && starts.len() == recs.len()).then_some(recs);
            (img, intact)
        }
        Image::Bytes {
            words,
            fill,
            header,
            buckets_log,
        } => (bytes_image(*words, fill, *header, *buckets_log), None),
    };
    let mut asks: Vec<(Kind, Option<&str>, Option<u32>)> = Vec::new();
    let mut expect: Vec<Option<&Rec>> = Vec::new();
    if let Image::Written { recs, .. } = &case.image {
        for r in recs {
            if let Some(n) = r.name.as_deref() {
                asks.push((kind_of(r.kind), Some(n), None));
                expect.push(newest(recs, r.kind, Some(n), None));
            }
            if let Some(i) = r.id {
                asks.push((kind_of(r.kind), None, Some(i)));
                expect.push(newest(recs, r.kind, None, Some(i)));
            }
        }
    }
    for (k, q) in &case.queries {
        match q {
            Ok(n) => asks.push((kind_of(*k), Some(n.as_str()), None)),
            Err(i) => asks.push((kind_of(*k), None, Some(*i))),
        }
    }
    let bound = 2 * img.len().min(MAX_RECORD) + 64;
    let hits = guarded(&img, |view| lookups(view, &asks, bound))?;
    // An intact map answers every record it holds, with its own payload.
    if intact.is_some() {
        for (hit, want) in hits.iter().zip(&expect) {
            let want = want.unwrap();
            let ok = match hit {
                Hit::Found(p) => !want.negative && *p == want.payload,
                Hit::Negative => want.negative,
                Hit::Miss => false,
            };
            prop_assert!(ok, "intact map answered {hit:?} for {want:?}");
        }
    }
    Ok(())
}

// ---- regression cases and runs ----

#[test]
fn the_guard_page_is_where_the_image_ends() {
    // The view's last byte is readable; the guard page starts right after it.
    let img = bytes_image(1024, &[7], true, 4);
    let last = guarded(&img, |v| {
        // SAFETY: the last byte of the view's `len` bytes.
        unsafe { std::ptr::read_volatile(v.base().add(v.len() - 1)) }
    });
    assert_eq!(last, 7);
}

#[test]
fn map_reader() {
    run("map reader", CI_CASES, case(), one_map);
}

#[test]
#[ignore = "long run: LDAPRS_FUZZ_CASES=1000000 cargo test --release ... -- --ignored"]
fn map_reader_long() {
    run("map reader", long_cases(), case(), one_map);
}
