//! Replays the fuzzer's seeds (the example templates) and every input it once
//! crashed on (`fuzz/regressions/`), each also cut short at every line break:
//! each must compile or fail with located diagnostics, without panicking.

use std::path::Path;

use phobos_core::template::{compile, parse_var_file, CompileOptions, TemplateKind};

fn check(path: &Path) {
    let bytes = std::fs::read(path).unwrap();
    let Ok(full) = std::str::from_utf8(&bytes) else {
        return;
    };
    // Truncated templates are the commonest broken input.
    for (i, _) in full.match_indices('\n') {
        check_text(path, &full[..i]);
    }
    check_text(path, full);
}

fn check_text(path: &Path, src: &str) {
    let lines = src.lines().count() + 1;
    for kind in [TemplateKind::Pipeline, TemplateKind::Lifecycle] {
        let mut opts = CompileOptions::new(kind, chrono::DateTime::UNIX_EPOCH);
        opts.now = chrono::DateTime::UNIX_EPOCH;
        if let Err(d) = compile(src, &opts) {
            assert!(
                d.has_errors(),
                "{}: a failure must carry an error",
                path.display()
            );
            for e in &d.0 {
                if let Some(l) = e.line {
                    assert!(
                        l >= 1 && l <= lines,
                        "{}: diagnostic line {l} is outside the input: {}",
                        path.display(),
                        e.message
                    );
                }
                assert!(!e.message.is_empty());
            }
        }
    }
    let _ = parse_var_file(src, chrono::DateTime::UNIX_EPOCH);
}

#[test]
fn seeds_and_regressions_do_not_panic() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut n = 0;
    for dir in [
        "tests/examples/pipeline",
        "tests/examples/lifecycle",
        "../fuzz/regressions",
    ] {
        for e in std::fs::read_dir(root.join(dir)).unwrap() {
            let path = e.unwrap().path();
            if path.file_name().is_some_and(|f| f != ".gitkeep") {
                check(&path);
                n += 1;
            }
        }
    }
    assert!(n >= 24, "the seeds are missing ({n} files)");
}
