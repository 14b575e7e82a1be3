//! Phobos domain core: pure types and the HCL template engine.
//!
//! This crate does no I/O and needs no async runtime. Everything that talks to a
//! database, a network or a clock lives in outer crates and hands values in
//! (for example the pipeline creation time used by `timestamp()`).

pub mod access;
pub mod agent;
pub mod events;
pub mod pipeline;
pub mod prn;
pub mod template;
