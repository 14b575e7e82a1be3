//! Generates the gRPC code from `proto/phobos/v1/agent.proto` with the protoc
//! shipped inside `protoc-bin-vendored`, so no system protoc is needed.
fn main() -> Result<(), Box<dyn std::error::Error>> {
    let protoc = protoc_bin_vendored::protoc_bin_path()?;
    std::env::set_var("PROTOC", protoc);
    println!("cargo:rerun-if-changed=proto/phobos/v1/agent.proto");
    tonic_prost_build::configure().compile_protos(&["proto/phobos/v1/agent.proto"], &["proto"])?;
    Ok(())
}
