//! Parse + validate + evaluate any text as both template kinds, as a variables
//! file, and as a deferred expression: none of it may panic.
#![no_main]

use libfuzzer_sys::fuzz_target;
use phobos_core::template::{
    compile, detect_kind, evaluate_deferred, parse_var_file, CompileOptions, TemplateKind, Value,
};

fuzz_target!(|data: &[u8]| {
    let Ok(src) = std::str::from_utf8(data) else { return };
    for kind in [TemplateKind::Pipeline, TemplateKind::Lifecycle] {
        let opts = CompileOptions::new(kind, chrono::DateTime::UNIX_EPOCH);
        let _ = compile(src, &opts);
    }
    let _ = detect_kind(src);
    let _ = parse_var_file(src, chrono::DateTime::UNIX_EPOCH);
    let _ = evaluate_deferred(src, Value::Null, Value::Null, Value::Null, chrono::DateTime::UNIX_EPOCH);
});
