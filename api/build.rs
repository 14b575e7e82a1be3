//! Rebuilds `phobos` when the web UI's build (`ui/dist`, made by `cargo
//! xtask ui`) changes, so the binary always embeds the UI on disk. Runs no
//! npm: `cargo build` never needs Node or the network.

fn main() {
    let dist = std::path::Path::new("../ui/dist");
    if dist.exists() {
        println!("cargo:rerun-if-changed=../ui/dist");
    } else {
        // Not built: look again when something appears under ui/.
        println!("cargo:rerun-if-changed=../ui");
    }
    println!("cargo:rerun-if-changed=build.rs");
}
