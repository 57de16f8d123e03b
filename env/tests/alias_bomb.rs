//! A YAML alias bomb ("billion laughs") in an env: the loader's budget stops
//! it at a position, and memory stays bounded. This is a test binary of its
//! own so that its counting allocator sees only this test's allocations.

use std::alloc::{GlobalAlloc, Layout, System};
use std::path::Path;
use std::sync::atomic::{AtomicUsize, Ordering};

use ecsfleet_env::{check, diff_masked, flatten_text, load};

/// The system allocator, keeping the live and the peak byte count.
struct Counting;

static LIVE: AtomicUsize = AtomicUsize::new(0);
static PEAK: AtomicUsize = AtomicUsize::new(0);

unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        // SAFETY: forwarded unchanged to the system allocator.
        let p = unsafe { System.alloc(layout) };
        if !p.is_null() {
            let live = LIVE.fetch_add(layout.size(), Ordering::Relaxed) + layout.size();
            PEAK.fetch_max(live, Ordering::Relaxed);
        }
        p
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: forwarded unchanged to the system allocator.
        unsafe { System.dealloc(ptr, layout) };
        LIVE.fetch_sub(layout.size(), Ordering::Relaxed);
    }
}

#[global_allocator]
static ALLOCATOR: Counting = Counting;

/// Peak bytes allocated on top of what was live when `f` started.
fn peak_during<T>(f: impl FnOnce() -> T) -> (T, usize) {
    let base = LIVE.load(Ordering::Relaxed);
    PEAK.store(base, Ordering::Relaxed);
    let out = f();
    let peak = PEAK.load(Ordering::Relaxed) - base;
    eprintln!("peak {} KiB", peak / 1024);
    (out, peak)
}

/// An env whose `lol.k` would expand to 10^10 strings: ten levels of
/// anchors, each a list of ten aliases of the one before.
fn billion_laughs_env() -> String {
    let mut text = String::from(
        "#cloud-config\n\
         appliance:\n  domain: ecs.example.org\n\
         lol:\n  a: &a [lol, lol, lol, lol, lol, lol, lol, lol, lol, lol]\n",
    );
    let names: Vec<char> = "abcdefghijk".chars().collect();
    for pair in names.windows(2) {
        let refs = vec![format!("*{}", pair[0]); 10].join(", ");
        text.push_str(&format!("  {}: &{} [{refs}]\n", pair[1], pair[1]));
    }
    text
}

/// Forty anchors nested around one wide list, and no alias at all: each
/// anchor keeps its own copy of everything inside it.
fn nested_anchor_env() -> String {
    let mut text = String::from("#cloud-config\nbase: ");
    for i in 0..40 {
        text.push_str(&format!("&a{i} ["));
    }
    text.push_str(&vec!["x"; 100_000].join(", "));
    text.push_str(&"]".repeat(40));
    text.push('\n');
    text
}

const MIB: usize = 1024 * 1024;

#[test]
fn a_billion_laughs_env_fails_fast_with_a_position_and_bounded_memory() {
    let text = billion_laughs_env();
    assert!(text.len() < 1024, "the bomb is {} bytes", text.len());

    let (result, peak) = peak_during(|| load(&text));
    assert_eq!(
        result.unwrap_err().to_string(),
        "10:14: budget breached: more than 250000 nodes with aliases expanded"
    );
    assert!(peak < 128 * MIB, "load used {} MiB", peak / MIB);

    let (findings, peak) = peak_during(|| check(&text, Path::new("env.yml"), Some(0o600)));
    let findings: Vec<String> = findings.iter().map(ToString::to_string).collect();
    assert_eq!(
        findings,
        [
            "env.yml:10:14: invalid YAML: budget breached: more than 250000 nodes with aliases expanded"
        ]
    );
    assert!(peak < 128 * MIB, "check used {} MiB", peak / MIB);

    let (flat, peak) = peak_during(|| flatten_text(&text, ".", &Default::default()));
    assert_eq!(
        flat.unwrap_err().to_string(),
        "10:14: budget breached: more than 250000 nodes with aliases expanded"
    );
    assert!(peak < 128 * MIB, "flatten used {} MiB", peak / MIB);

    let (diff, peak) = peak_during(|| diff_masked(&text, "a: 1\n", "left", "right"));
    assert!(
        diff.contains(
            "left: not shown, not valid YAML at line 10, column 14: budget breached: more than 250000 nodes with aliases expanded"
        ),
        "{diff}"
    );
    assert!(peak < 128 * MIB, "diff used {} MiB", peak / MIB);
}

#[test]
fn anchors_copying_anchors_are_bounded_too() {
    let text = nested_anchor_env();
    // Remembered innermost first: the tenth copy crosses a million nodes.
    let col = text.find("&a30 ").unwrap() - "#cloud-config\nbase: ".len() + 7 + 5;
    let (result, peak) = peak_during(|| load(&text));
    assert_eq!(
        result.unwrap_err().to_string(),
        format!("2:{col}: budget breached: anchors copied more than 1000000 nodes")
    );
    assert!(peak < 128 * MIB, "load used {} MiB", peak / MIB);
}
