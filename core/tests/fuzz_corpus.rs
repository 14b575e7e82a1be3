//! Replays the fuzz corpus and every input the fuzzer once crashed on
//! (`fuzz/regressions/`): each must compile or fail with located diagnostics,
//! without panicking.

use std::path::Path;

use phobos_core::template::{compile, parse_var_file, CompileOptions, TemplateKind};

fn check(path: &Path) {
    let bytes = std::fs::read(path).unwrap();
    let Ok(src) = std::str::from_utf8(&bytes) else {
        return;
    };
    let lines = src.lines().count() + 1;
    for kind in [TemplateKind::Pipeline, TemplateKind::Lifecycle] {
        let mut opts = CompileOptions::new(kind);
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
                        "{}: diagnostic line {l} is outside the file: {}",
                        path.display(),
                        e.message
                    );
                }
                assert!(!e.message.is_empty());
            }
        }
    }
    let _ = parse_var_file(src);
}

#[test]
fn corpus_and_regressions_do_not_panic() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../fuzz");
    let mut n = 0;
    for dir in ["corpus/compile", "regressions"] {
        let Ok(entries) = std::fs::read_dir(root.join(dir)) else {
            continue;
        };
        for e in entries {
            check(&e.unwrap().path());
            n += 1;
        }
    }
    assert!(n >= 24, "the seed corpus is missing ({n} files)");
}
